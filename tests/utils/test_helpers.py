import random

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from PIL import Image  # noqa: E402

from utils import (  # noqa: E402
    frames_to_gif,
    plot_learning_curve,
    rolling_stats,
    seed_everything,
    show_frames,
)


def test_seed_everything_repeats_draws():
    rng = seed_everything(3)
    first = (random.random(), np.random.rand(), rng.random())  # noqa: NPY002
    rng = seed_everything(3)
    assert (random.random(), np.random.rand(), rng.random()) == first  # noqa: NPY002


def test_seed_everything_seeds_tensorflow():
    import tensorflow as tf

    seed_everything(5, tensorflow=True)
    a = tf.random.uniform((3,)).numpy()
    seed_everything(5, tensorflow=True)
    np.testing.assert_array_equal(a, tf.random.uniform((3,)).numpy())


def test_rolling_stats():
    mean, low, high = rolling_stats(np.array([1, 3, 2, 6]), 2)
    np.testing.assert_allclose(mean, [2, 2.5, 4])
    np.testing.assert_array_equal(low, [1, 2, 2])
    np.testing.assert_array_equal(high, [3, 3, 6])


def test_plot_learning_curve_draws_mean_band_and_target():
    ax = plot_learning_curve(np.arange(300.0), window=100, target=200)
    (mean_line, target_line) = ax.get_lines()
    assert len(mean_line.get_xdata()) == 201
    assert mean_line.get_ydata()[0] == pytest.approx(49.5)
    assert target_line.get_ydata()[0] == 200
    assert len(ax.collections) == 1  # the min-max band
    with pytest.raises(ValueError, match="empty"):
        plot_learning_curve(np.array([]))


def test_frames_to_gif_keeps_frames_and_size():
    frames = [np.full((20, 30, 3), v, np.uint8) for v in (0, 100, 200)]
    gif = Image.open(__import__("io").BytesIO(frames_to_gif(frames, fps=5, scale=2)))
    assert gif.size == (60, 40)
    assert gif.n_frames == 3
    with pytest.raises(ValueError, match="empty"):
        frames_to_gif([])


def test_show_frames_embeds_gif_and_writes_file(tmp_path):
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 255)]
    html = show_frames(frames, path=tmp_path / "a.gif").data
    assert html.startswith('<img src="data:image/gif;base64,R0lGOD')  # "GIF8" in base64
    assert (tmp_path / "a.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")


def test_seed_everything_refuses_a_switch_that_is_not_a_bool():
    with pytest.raises(ValueError, match="tensorflow must be True or False, got 'no'"):
        seed_everything(3, tensorflow="no")
