"""Turning a list of rgb_array frames into an inline GIF."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
from IPython.display import HTML
from PIL import Image as PILImage


def frames_to_gif(frames: list[np.ndarray], fps: int = 10, scale: float = 1.0) -> bytes:
    """Encode RGB uint8 frames (H, W, 3) as a looping GIF."""
    if len(frames) == 0:
        raise ValueError("frames is empty: nothing to animate")
    images = [PILImage.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    if scale != 1.0:
        size = (round(images[0].width * scale), round(images[0].height * scale))
        images = [image.resize(size, PILImage.Resampling.NEAREST) for image in images]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )
    return buffer.getvalue()


def show_frames(
    frames: list[np.ndarray],
    fps: int = 10,
    scale: float = 1.0,
    path: str | os.PathLike | None = None,
) -> HTML:
    """Display frames as an inline GIF; also write it to `path` if given.

    The GIF is embedded as an HTML `<img>` with a data URI: Jupyter, Colab, VS Code
    and GitHub's notebook view all show it, where an `image/gif` output is not
    rendered everywhere.
    """
    gif = frames_to_gif(frames, fps=fps, scale=scale)
    if path is not None:
        Path(path).write_bytes(gif)
    encoded = base64.b64encode(gif).decode("ascii")
    return HTML(f'<img src="data:image/gif;base64,{encoded}" alt="animation"/>')
