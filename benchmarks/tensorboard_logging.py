"""TensorBoard logging: our callback against stock keras.callbacks.TensorBoard.

    .venv/bin/python benchmarks/tensorboard_logging.py

1,000 `fit()` calls (one per environment step, as the original DQN trains), each on
one batch of 64, with each callback: event files written, bytes on disk, wall time.
"""

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from utils import ModifiedTensorBoard  # noqa: E402

FITS = 1_000  # fit() calls, one per environment step
EPISODE_LENGTH = 50  # steps per "episode": our callback writes at the episode


def make_model() -> keras.Model:
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(32), keras.layers.Dense(9)]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    return model


BLOCK = 100  # fits per timed block; the variants alternate block by block


def log_files(log_dir: Path) -> tuple[int, int]:
    files = [p for p in log_dir.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    keras.utils.set_random_seed(0)
    model = make_model()
    x, y = np.ones((64, 8), np.float32), np.zeros((64, 9), np.float32)
    model.fit(x, y, verbose=0)  # build and trace once, outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        stock_dir, ours_dir = Path(tmp) / "stock", Path(tmp) / "ours"
        callbacks = {
            "no callback": None,
            "keras TensorBoard": keras.callbacks.TensorBoard(log_dir=str(stock_dir)),
            "ModifiedTensorBoard": ModifiedTensorBoard(log_dir=ours_dir),
        }
        seconds = dict.fromkeys(callbacks, 0.0)
        # Alternate blocks so that drift in the machine's speed hits all alike.
        for block in range(FITS // BLOCK):
            for name, callback in callbacks.items():
                start = time.perf_counter()
                for i in range(block * BLOCK, (block + 1) * BLOCK):
                    if isinstance(callback, ModifiedTensorBoard):
                        callback.step = i // EPISODE_LENGTH + 1
                    model.fit(x, y, verbose=0, callbacks=[callback] if callback else [])
                seconds[name] += time.perf_counter() - start
        callbacks["ModifiedTensorBoard"].close()
        files = {
            "keras TensorBoard": log_files(stock_dir),
            "ModifiedTensorBoard": log_files(ours_dir),
        }

    print(
        f"{FITS:,} fit() calls per callback, batch 64, interleaved in blocks of {BLOCK}"
    )
    print(f"{'callback':<22}{'ms/fit':>8}{'files':>8}{'bytes':>12}")
    for name, total in seconds.items():
        count, size = files.get(name, (0, 0))
        print(f"{name:<22}{1000 * total / FITS:>8.1f}{count:>8,}{size:>12,}")
    (stock_files, stock_bytes), (our_files, our_bytes) = files.values()
    time_ratio = seconds["keras TensorBoard"] / seconds["ModifiedTensorBoard"]
    print(
        f"ratio stock/ours: files {stock_files / our_files:.0f}x, "
        f"bytes {stock_bytes / our_bytes:.0f}x, "
        f"wall time {time_ratio:.2f}x"
        " (fit() itself dominates)"
    )


if __name__ == "__main__":
    main()
