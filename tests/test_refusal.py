"""The shared refusal helper notices every kind of change it promises to see."""

import random

import numpy as np
import pytest

from tests.refusal import assert_refused, differences, snapshot


class Thing:
    def __init__(self):
        self.array = np.arange(3.0)
        self.rng = np.random.default_rng(0)
        self.nested = {"items": [1, 2.5, np.array([np.nan])]}
        self.alias = self.nested


def refuse_after(change):
    def call():
        change()
        raise ValueError("refused")

    return call


CHANGES = {
    "an array element": lambda t: t.array.__setitem__(0, 9.0),
    "a generator draw": lambda t: t.rng.random(),
    "a spawned child": lambda t: t.rng.spawn(1),
    "a nested list item": lambda t: t.nested["items"].__setitem__(1, 2.6),
    "a new attribute": lambda t: setattr(t, "extra", 1),
    "an int made a float": lambda t: t.nested["items"].__setitem__(0, 1.0),
    "Python's global generator": lambda t: random.random(),
    "NumPy's global generator": lambda t: np.random.random(),  # noqa: NPY002
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_before_the_refusal_is_named(change):
    thing = Thing()
    with pytest.raises(AssertionError, match="a refused call changed"):
        assert_refused(thing, refuse_after(lambda: change(thing)), ValueError)


def test_nothing_changed_passes_and_nan_equals_nan():
    thing = Thing()
    info = assert_refused(thing, refuse_after(lambda: None), ValueError, "refused")
    assert str(info.value) == "refused"


def test_an_alias_is_walked_once_and_paths_read_like_code():
    thing = Thing()
    before = snapshot(thing)
    assert before["root.alias"] == ("same as", "root.nested")
    thing.array[2] = -1.0
    assert differences(before, snapshot(thing)) == ["root.array"]


def test_skipped_attributes_are_not_compared():
    thing = Thing()
    assert_refused(
        thing, refuse_after(lambda: thing.rng.random()), ValueError, skip={"rng"}
    )
