"""DQNConfig refuses every bad setting where it is made, and builds every good one."""

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils.config import (
    BOOLEANS,
    CHOICES,
    INTEGERS,
    REALS,
    DQNConfig,
    check_env,
    check_integer,
    check_path,
)
from utils.dqn import DQNAgent

NOT_A_NUMBER = st.one_of(st.none(), st.text(max_size=3), st.booleans(), st.just([1]))


def bad_integers(low):
    below = st.integers(max_value=low - 1)
    fractional = st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer())
    return st.one_of(below, fractional, st.just(3.0), NOT_A_NUMBER)


def bad_reals(low, high, low_in, high_in):
    outside = st.floats(max_value=low, exclude_max=low_in) | st.floats(
        min_value=high, exclude_min=high_in
    )
    return st.one_of(outside, st.just(math.nan), st.just(math.inf), NOT_A_NUMBER)


BAD = {
    **{name: bad_integers(low) for name, low in INTEGERS.items()},
    **{name: bad_reals(*interval) for name, interval in REALS.items()},
    **{
        name: st.one_of(st.integers(), st.text(max_size=3), st.none())
        for name in BOOLEANS
    },
    **{
        name: st.one_of(
            st.text(max_size=6).filter(lambda s, a=a: s not in a), st.none()
        )
        for name, a in CHOICES.items()
    },
    "hidden_units": st.one_of(
        st.lists(st.integers(max_value=0), min_size=1, max_size=3),
        st.lists(st.floats(), min_size=1, max_size=2),
        st.integers(),
        st.text(min_size=1, max_size=3),
    ),
}


def test_every_field_has_a_bad_value_strategy():
    fields = set(DQNConfig.__dataclass_fields__)
    assert set(BAD) == fields


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(BAD)).flatmap(lambda n: st.tuples(st.just(n), BAD[n])))
def test_a_bad_field_is_named_with_its_value(field_and_value):
    name, value = field_and_value
    with pytest.raises(ValueError) as error:
        DQNConfig(**{name: value})
    message = str(error.value)
    assert f"{name} must be" in message and "got" in message
    if name != "hidden_units":
        assert repr(value) in message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learning_starts": 10}, "learning_starts must be between batch_size * "),
        ({"memory_capacity": 400}, "and memory_capacity (400: the memory never holds"),
        ({"epsilon_start": 0.1, "epsilon_end": 0.5}, "epsilon_end must be <= epsilon"),
        ({"double": True, "target": "none"}, "double=True needs a target network"),
        ({"n_step": 2.5}, "n_step must be an integer >= 1, got 2.5"),
        ({"learning_rate": 0}, "learning_rate must be a number in (0, inf), got 0"),
        ({"epsilon_decay_steps": -100}, "epsilon_decay_steps must be an integer >= 1"),
        ({"hidden_units": (0,)}, "hidden_units must be a sequence of integers >= 1"),
        ({"num_envs": 2.5}, "num_envs must be an integer >= 1, got 2.5"),
    ],
)
def test_bad_relations_and_the_issues_cases_are_refused(changes, message):
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        DQNConfig(**changes)


def test_every_problem_is_named_in_one_error():
    with pytest.raises(ValueError) as error:
        DQNConfig(learning_rate=-1, tau=2, loss="l1")
    assert all(n in str(error.value) for n in ("learning_rate", "tau", "loss"))


def test_values_are_normalised_so_a_checkpoint_matches_its_run():
    config = DQNConfig(hidden_units=[16, np.int64(8)], batch_size=np.int64(32))
    assert config.hidden_units == (16, 8) and type(config.batch_size) is int
    assert config == DQNConfig(hidden_units=(16, 8), batch_size=32)
    assert DQNConfig.from_dict(config.to_dict()) == config


def test_an_unknown_setting_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"no setting 'learning_rat'.*learning_rate"):
        DQNConfig.from_dict({"learning_rat": 1e-3})


@st.composite
def good_configs(draw):
    batch_size = draw(st.integers(1, 16))
    gradient_steps = draw(st.integers(1, 3))
    learning_starts = draw(st.integers(batch_size * gradient_steps, 64))
    epsilon_start = draw(st.floats(0, 1))
    target = draw(st.sampled_from(CHOICES["target"]))
    return DQNConfig(
        hidden_units=draw(st.lists(st.integers(1, 8), max_size=2)),
        dueling=draw(st.booleans()),
        learning_rate=draw(st.floats(1e-5, 1e-1)),
        discount=draw(st.floats(0, 1)),
        loss=draw(st.sampled_from(CHOICES["loss"])),
        double=draw(st.booleans()) and target != "none",
        target=target,
        tau=draw(st.floats(1e-3, 1)),
        target_update_every=draw(st.integers(1, 10)),
        n_step=draw(st.integers(1, 4)),
        memory_capacity=draw(st.integers(learning_starts, 128)),
        batch_size=batch_size,
        learning_starts=learning_starts,
        num_envs=draw(st.integers(1, 3)),
        train_every=draw(st.integers(1, 3)),
        gradient_steps=gradient_steps,
        epsilon_start=epsilon_start,
        epsilon_end=draw(st.floats(0, epsilon_start)),
        epsilon_decay_steps=draw(st.integers(1, 100)),
    )


@settings(max_examples=4, deadline=None)
@given(good_configs())
def test_a_good_config_builds_an_agent_that_learns(config):
    agent = DQNAgent("CartPole-v1", config, seed=0)
    # vector steps to fill the memory (n-step transitions lag n - 1 steps), then
    # enough for one training call whatever the rhythm
    fill = -(-config.learning_starts // config.num_envs) + config.n_step
    vector_steps = fill + config.train_every + 1
    agent.train(vector_steps * config.num_envs, eval_every=10**9, progress=False)
    assert int(agent.optimizer.iterations) >= config.gradient_steps
    assert np.isfinite(float(agent.last_loss))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"discount": 10**400}, "discount must be a number in [0, 1]"),
        ({"hidden_units": {32, 16}}, "hidden_units must be a sequence"),
        ({"hidden_units": np.array(16)}, "hidden_units must be a sequence"),
    ],
)
def test_overflowing_numbers_and_unordered_units_are_refused(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DQNConfig(**changes)


def test_replace_with_an_unknown_setting_names_the_known_ones():
    with pytest.raises(ValueError, match=r"no setting 'foo'.*learning_rate"):
        DQNConfig().replace(foo=1)


def test_numpy_booleans_and_strings_are_normalised():
    config = DQNConfig(double=np.bool_(True), target=np.str_("hard"))
    assert type(config.double) is bool and type(config.target) is str


# -- the checks every entry point shares ---------------------------------------------
@pytest.mark.parametrize(
    ("value", "high", "message"),
    [
        (2.5, None, "n must be an integer >= 1, got 2.5"),
        (True, None, "n must be an integer >= 1, got True"),
        (0, None, "n must be an integer >= 1, got 0"),
        (11, 10, r"n must be an integer in \[1, 10\], got 11"),
        ("3", None, "n must be an integer >= 1, got '3'"),
    ],
)
def test_check_integer_names_the_value_and_the_range(value, high, message):
    with pytest.raises(ValueError, match=message):
        check_integer("n", value, 1, high)


def test_check_integer_gives_a_plain_int():
    assert type(check_integer("n", np.int64(3), 1)) is int


@pytest.mark.parametrize(
    ("value", "kind", "suffix", "message"),
    [
        (5, "file", None, "p must be a path, got 5"),
        ("a.h5", "file", ".keras", "p must end in .keras, got 'a.h5'"),
        (".", "file", None, "is a folder, not a file"),
        (__file__, "folder", None, "is a file, not a folder"),
        (__file__ + "/x/y", "folder", None, "lies inside .*test_config.py', which is"),
    ],
)
def test_check_path_names_the_argument_and_what_is_wrong(value, kind, suffix, message):
    with pytest.raises(ValueError, match=message):
        check_path("p", value, kind, suffix)


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        (5, "env must be a gymnasium id"),
        ("NoSuchEnv-v0", "env 'NoSuchEnv-v0' is no gymnasium id"),
        ("GymV26Environment-v0", "env 'GymV26Environment-v0' cannot be made"),
        ("Pendulum-v1", "needs a Discrete action space"),
        ("blobenv/BlobImage-v0", "needs a 1-D Box observation"),
    ],
)
def test_check_env_names_the_id_and_what_is_wrong(env_id, message):
    with pytest.raises(ValueError, match=message):
        check_env("env", env_id)


def test_check_env_takes_an_image_environment_when_asked_for_any_observation():
    space, actions = check_env("env", "blobenv/BlobImage-v0", vector_observations=False)
    assert space.shape == (10, 10, 3) and actions.n == 9
