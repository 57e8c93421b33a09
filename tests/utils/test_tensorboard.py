import keras
import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util.tensor_util import make_ndarray

from utils import ModifiedTensorBoard


def scalars(log_dir, tag):
    events = EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    events.Reload()
    return [(e.step, float(make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]


def small_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    return model


def test_many_fits_write_one_event_file_at_the_trainer_step(tmp_path):
    model = small_model()
    callback = ModifiedTensorBoard(log_dir=tmp_path)
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    for episode in range(1, 4):
        callback.step = episode
        for _ in range(20):
            model.fit(x, y, verbose=0, callbacks=[callback])
        callback.update_stats(reward_avg=10.0 * episode, epsilon=1.0 / episode)
    callback.close()

    files = list(tmp_path.rglob("*tfevents*"))
    assert len(files) == 1
    assert scalars(tmp_path, "reward_avg") == [(1, 10.0), (2, 20.0), (3, 30.0)]
    epsilon = scalars(tmp_path, "epsilon")
    assert [step for step, _ in epsilon] == [1, 2, 3]
    assert np.allclose([v for _, v in epsilon], [1.0, 0.5, 1 / 3])
    loss_steps = [step for step, _ in scalars(tmp_path, "loss")]
    assert loss_steps == [1] * 20 + [2] * 20 + [3] * 20


def test_usable_without_fit(tmp_path):
    callback = ModifiedTensorBoard(log_dir=tmp_path)
    for step in (5, 6):
        callback.step = step
        callback.update_stats(loss=0.5)
    callback.close()
    assert scalars(tmp_path, "loss") == [(5, 0.5), (6, 0.5)]
