"""What every notebook of the course shares."""

from utils.animation import frames_to_gif, show_frames
from utils.plots import plot_learning_curve, rolling_stats
from utils.replay import Batch, ReplayMemory
from utils.runs import load_array, load_model, make_run_dir, save_array, save_model
from utils.seeding import seed_everything


def __getattr__(name: str):
    # TensorFlow loads only when a notebook asks for the callback.
    if name == "ModifiedTensorBoard":
        from utils.tensorboard import ModifiedTensorBoard

        return ModifiedTensorBoard
    raise AttributeError(f"module 'utils' has no attribute {name!r}")


__all__ = [
    "Batch",
    "ModifiedTensorBoard",
    "ReplayMemory",
    "frames_to_gif",
    "load_array",
    "load_model",
    "make_run_dir",
    "plot_learning_curve",
    "rolling_stats",
    "save_array",
    "save_model",
    "seed_everything",
    "show_frames",
]
