"""What every notebook of the course shares."""

from utils.animation import frames_to_gif, show_frames
from utils.config import DQNConfig
from utils.nstep import NStepQueue
from utils.plots import plot_learning_curve, rolling_stats
from utils.replay import Batch, ReplayMemory
from utils.runs import load_array, load_model, make_run_dir, save_array, save_model
from utils.seeding import seed_everything
from utils.trainlog import TrainLog


def __getattr__(name: str):
    # TensorFlow loads only when a notebook asks for one of these.
    if name == "ModifiedTensorBoard":
        from utils.tensorboard import ModifiedTensorBoard

        return ModifiedTensorBoard
    if name in (
        "CoordinateChannels",
        "KerasDQN",
        "coordconv_network",
        "original_network",
    ):
        from utils import keras_dqn

        return getattr(keras_dqn, name)
    if name in (
        "DQNAgent",
        "DuelingHead",
        "Episodes",
        "build_q_network",
        "play_greedy",
    ):
        from utils import dqn

        return getattr(dqn, name)
    if name == "GraphDQN":
        from utils.graph_dqn import GraphDQN

        return GraphDQN
    if name in ("Run", "Worker", "close_workers", "start_run", "train_runs"):
        from utils import workers

        return getattr(workers, name)
    raise AttributeError(f"module 'utils' has no attribute {name!r}")


__all__ = [
    "Batch",
    "CoordinateChannels",
    "DQNAgent",
    "DQNConfig",
    "DuelingHead",
    "Episodes",
    "GraphDQN",
    "KerasDQN",
    "ModifiedTensorBoard",
    "NStepQueue",
    "ReplayMemory",
    "Run",
    "coordconv_network",
    "TrainLog",
    "build_q_network",
    "close_workers",
    "frames_to_gif",
    "load_array",
    "load_model",
    "make_run_dir",
    "plot_learning_curve",
    "rolling_stats",
    "save_array",
    "save_model",
    "seed_everything",
    "original_network",
    "play_greedy",
    "show_frames",
    "start_run",
    "Worker",
    "train_runs",
]
