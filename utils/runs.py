"""Run folders and checkpoints that never overwrite earlier work."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def make_run_dir(notebook: str, root: str | os.PathLike = "runs") -> Path:
    """Create and return a new folder `root/notebook/YYYYmmdd-HHMMSS[-k]`.

    The folder is new on every call: a rerun never writes into an earlier run.
    """
    if not notebook or Path(notebook).name != notebook or notebook in (".", ".."):
        raise ValueError(f"notebook must be a plain folder name, got {notebook!r}")
    base = Path(root) / notebook
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        run_dir = base / (stamp if k == 0 else f"{stamp}-{k}")
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {base}")


def _atomic_write(path: Path, write: Any, suffix: str) -> Path:
    """Write through `write(tmp_path)` to a temporary file, then rename it to `path`.

    A crash mid-write leaves the previous file (or none), never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(
            tmp, 0o666 & ~current_umask()
        )  # as a plain open() would (mkstemp: 0600)
        flush_to_disk(tmp)
        os.replace(tmp, path)
        flush_to_disk(path.parent)  # the rename too reaches the disk
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def flush_to_disk(path: str | os.PathLike) -> None:
    """Flush a file's or a folder's contents to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _check_new(path: Path, overwrite: bool) -> None:
    if not isinstance(overwrite, (bool, np.bool_)):
        raise ValueError(f"overwrite must be True or False, got {overwrite!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file path")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")


def save_array(
    path: str | os.PathLike, array: np.ndarray, overwrite: bool = False
) -> Path:
    """Save a NumPy array as `.npy` atomically (no pickle)."""
    path = Path(path)
    if path.suffix != ".npy":
        raise ValueError(f"path must end in .npy, got {str(path)!r}")
    _check_new(path, overwrite)
    try:  # before any folder is made: what np.save would refuse (objects, ragged)
        array = np.asarray(array)
    except ValueError as error:
        raise ValueError(f"array must be a NumPy array, got {array!r}") from error
    if array.dtype.hasobject:
        raise ValueError(
            f"array must hold numbers, strings or bools (no objects: .npy files are "
            f"saved without pickle), got dtype {array.dtype}"
        )
    return _atomic_write(
        path, lambda tmp: np.save(tmp, array, allow_pickle=False), ".npy"
    )


def load_array(path: str | os.PathLike) -> np.ndarray:
    """Load a `.npy` array saved by `save_array`, with a clear error if it is bad."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved array at {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path} is not a readable .npy array: {error}") from error


def save_model(path: str | os.PathLike, model: Any, overwrite: bool = False) -> Path:
    """Save a Keras model as a `.keras` file atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras, got {str(path)!r}")
    _check_new(path, overwrite)
    if not callable(getattr(model, "save", None)):
        raise ValueError(f"model must be a Keras model, got {model!r}")
    return _atomic_write(path, model.save, ".keras")


def load_model(path: str | os.PathLike) -> Any:
    """Load a `.keras` model, with a clear error if it is missing or corrupt."""
    import keras

    import utils.keras_dqn  # noqa: F401 - registers the course's layers and models
    import utils.qnetwork  # noqa: F401

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises several types for a bad archive
        raise ValueError(f"{path} is not a readable .keras model: {error}") from error
