import keras
import numpy as np
import pytest

from utils import CoordinateChannels, KerasDQN, load_model, save_model


def linear_network(n_actions=3):
    """Q(s) = s @ W: the Q-values of a one-hot state are a row of W."""
    return keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(n_actions, use_bias=False)]
    )


@pytest.fixture
def dqn():
    model = KerasDQN(linear_network(), discount=0.5, n_step=2)
    model.network.set_weights([np.array([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]])])
    model.sync_target()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def test_td_targets_bootstrap_with_discount_to_the_n_from_the_target_network(dqn):
    # the online network changes; the targets must not
    dqn.network.set_weights([np.zeros((2, 3))])
    next_observations = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    targets = dqn.td_targets(
        np.array([1.0, 1.0, 1.0]), next_observations, np.array([False, False, True])
    )
    # max Q_target: 3 for state 0, 4 for state 1; 0.5 ** 2 = 0.25; none after a terminal
    np.testing.assert_allclose(np.asarray(targets), [1 + 0.25 * 3, 1 + 0.25 * 4, 1.0])


def test_fit_moves_only_the_taken_action_and_not_the_target_network(dqn):
    before = dqn.network.get_weights()[0].copy()
    target_before = dqn.target_network.get_weights()[0].copy()
    x = (
        np.array([[1.0, 0.0]]),  # state 0
        np.array([1]),  # action 1: Q = 2
        np.array([10.0]),  # return
        np.array([[0.0, 1.0]]),  # next state 1: max Q_target = 4
        np.array([True]),  # terminated: TD target 10
    )
    history = dqn.fit(x, batch_size=1, epochs=1, verbose=0, shuffle=False)
    after = dqn.network.get_weights()[0]
    # loss (10 - 2)^2 = 64; gradient on W[0, 1] = -2 * 8 = -16, step 0.1 -> +1.6
    assert history.history["loss"][0] == pytest.approx(64.0)
    np.testing.assert_allclose(after - before, [[0.0, 1.6, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(dqn.target_network.get_weights()[0], target_before)


def test_sync_target_copies_the_weights(dqn):
    dqn.network.set_weights([np.ones((2, 3))])
    dqn.sync_target()
    np.testing.assert_array_equal(dqn.target_network.get_weights()[0], np.ones((2, 3)))


def test_only_the_q_network_is_trainable(dqn):
    assert len(dqn.trainable_weights) == 1
    assert dqn.trainable_weights[0] is dqn.network.trainable_weights[0]


def test_greedy_actions_are_the_argmax(dqn):
    actions = dqn.greedy_actions(np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_array_equal(actions, [2, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discount": 1.5}, r"discount must be a number in \[0, 1\], got 1.5"),
        ({"discount": "0.9"}, r"discount must be a number in \[0, 1\], got '0.9'"),
        ({"discount": float("nan")}, "discount must be a number in"),
        ({"n_step": 0}, "n_step must be an integer >= 1, got 0"),
        ({"n_step": 2.5}, "n_step must be an integer >= 1, got 2.5"),
        ({"n_step": True}, "n_step must be an integer >= 1, got True"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KerasDQN(linear_network(), **kwargs)


def test_coordinate_channels_hold_x_and_y():
    images = np.zeros((1, 3, 4, 1), np.float32)
    out = np.asarray(CoordinateChannels()(images))
    assert out.shape == (1, 3, 4, 3)
    np.testing.assert_allclose(out[0, 0, :, 1], [-1, -1 / 3, 1 / 3, 1], atol=1e-6)
    np.testing.assert_allclose(out[0, :, 0, 2], [-1, 0, 1], atol=1e-6)


def test_a_network_with_coordinate_channels_survives_save_and_load(tmp_path):
    network = keras.Sequential(
        [keras.Input((4, 4, 3)), CoordinateChannels(), keras.layers.Conv2D(2, 1)]
    )
    images = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)
    loaded = load_model(save_model(tmp_path / "net.keras", network))
    np.testing.assert_allclose(loaded(images), network(images), rtol=1e-6)


def test_fit_minibatches_makes_one_update_per_minibatch_like_fit(dqn):
    rng = np.random.default_rng(0)
    x = (
        rng.random((6, 2)),
        rng.integers(3, size=6),
        rng.random(6),
        rng.random((6, 2)),
        rng.random(6) < 0.5,
    )
    twin = KerasDQN(linear_network(), discount=0.5, n_step=2)
    twin.set_weights(dqn.get_weights())
    twin.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    dqn.fit(x, batch_size=2, verbose=0, shuffle=False)
    history = twin.fit_minibatches(x, batch_size=2)
    assert len(history.history["loss"]) == 1  # one fit call, one epoch
    np.testing.assert_allclose(twin.get_weights()[0], dqn.get_weights()[0], rtol=1e-6)


ONE_TRANSITION = (
    np.array([[1.0, 0.0]]),  # state 0
    np.array([1]),  # action 1: Q = 2
    np.array([1.0]),
    np.array([[0.0, 1.0]]),  # next state 1: max Q_target = 4
    np.array([False]),
)


def test_evaluate_gives_the_loss_of_the_td_error_without_learning(dqn):
    before = dqn.network.get_weights()[0].copy()
    # TD target 1 + 0.25 * 4 = 2 equals Q = 2: no error; then 3 against 2
    assert dqn.evaluate(x=ONE_TRANSITION, verbose=0) == pytest.approx(0.0)
    worse = (*ONE_TRANSITION[:2], np.array([2.0]), *ONE_TRANSITION[3:])
    assert dqn.evaluate(x=worse, verbose=0) == pytest.approx(1.0)
    np.testing.assert_array_equal(dqn.network.get_weights()[0], before)


def test_a_metric_compares_the_taken_actions_q_value_with_its_td_target():
    model = KerasDQN(linear_network(), discount=0.5, n_step=2)
    model.network.set_weights([np.array([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]])])
    model.sync_target()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    worse = (*ONE_TRANSITION[:2], np.array([3.5]), *ONE_TRANSITION[3:])
    history = model.fit(x=worse, batch_size=1, verbose=0)
    assert history.history["mae"] == pytest.approx([2.5])  # |2 - (3.5 + 1)|


@pytest.mark.parametrize(
    "metrics",
    [
        {"metrics": ["accuracy"]},
        {"metrics": ["acc"]},
        {"weighted_metrics": ["accuracy"]},
        {"metrics": {"output_0": "accuracy"}},
        {"metrics": [keras.metrics.binary_accuracy]},
        {"metrics": [keras.metrics.CategoricalAccuracy(name="q")]},
    ],
)
def test_an_accuracy_metric_is_refused_with_what_to_use(metrics):
    model = KerasDQN(linear_network())
    with pytest.raises(ValueError, match="means nothing for a Q-value regression"):
        model.compile(optimizer="sgd", loss="mse", **metrics)


def test_a_metric_whose_name_only_contains_acc_is_not_refused():
    model = KerasDQN(linear_network())
    model.compile(
        optimizer="sgd",
        loss="mse",
        metrics=[keras.metrics.MeanSquaredError(name="accumulated_mse")],
    )


def test_save_and_load_model_keep_both_networks(dqn, tmp_path):
    dqn.target_network.set_weights([np.full((2, 3), 7.0)])
    path = save_model(tmp_path / "dqn.keras", dqn)
    loaded = load_model(path)
    assert isinstance(loaded, KerasDQN) and (loaded.discount, loaded.n_step) == (0.5, 2)
    for a, b in zip(dqn.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.target_network.get_weights()[0], 7.0)
    assert loaded.loss == "mse"  # still compiled
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)


def changed(position, value):
    x = list(ONE_TRANSITION)
    x[position] = value
    return tuple(x)


@pytest.mark.parametrize(
    ("x", "batch_size", "message"),
    [
        (changed(1, np.array([3])), 1, r"actions must be in \[0, 3\) .*got 3 at pos"),
        (changed(1, np.array([-1])), 1, r"actions must be in \[0, 3\) .*got -1"),
        (changed(1, np.array([1.0])), 1, "actions must be integers, got dtype float64"),
        (changed(2, np.array([[1.0]])), 1, r"returns must have shape \(1,\)"),
        (changed(2, np.array([np.nan])), 1, "returns must be finite"),
        (changed(4, np.array([2])), 1, "terminated must be 1 booleans"),
        (changed(3, np.zeros((2, 2))), 1, "next_observations must have the"),
        (ONE_TRANSITION[:4], 1, "transitions must be 5 arrays"),
        (ONE_TRANSITION, 0, "batch_size must be an integer >= 1, got 0"),
        (ONE_TRANSITION, 2.5, "batch_size must be an integer >= 1, got 2.5"),
    ],
)
def test_transitions_that_would_train_silently_wrong_are_refused(
    dqn, x, batch_size, message
):
    before = dqn.network.get_weights()[0].copy()
    with pytest.raises(ValueError, match=message):
        dqn.fit_minibatches(x, batch_size=batch_size)
    np.testing.assert_array_equal(dqn.network.get_weights()[0], before)
