"""A refused call changes nothing: one helper for every refusal test.

`assert_refused(obj, call, error, match)` snapshots `obj`'s whole state and the
process's global generators, checks that `call()` raises `error` matching `match`,
and that the snapshot after equals the one before, naming every path that differs:

    from tests.refusal import assert_refused

    assert_refused(memory, lambda: memory.append(...), ValueError, "reward must")
    assert_refused((queue, memory), lambda: queue.push(...), ValueError, "action")
    assert_refused(None, lambda: BlobEnv(size=2), ValueError, "size")  # globals only

What `snapshot(obj)` captures, walking `obj` recursively into a flat
`{path: value}` dict (paths read like code: `root.memory.rewards`):

- NumPy arrays by value (dtype, shape and contents; NaN equals NaN);
- generators by state: `numpy.random.Generator` and its bit generator
  (`bit_generator.state`, and its seed sequence's spawned-children count),
  `numpy.random.RandomState` (`get_state()`), `random.Random` (`getstate()`);
- containers (dict, list, tuple, deque, set) element by element, objects attribute
  by attribute (`__dict__` and `__slots__`), dataclasses included;
- scalars (None, bool, int, float, str, bytes, NumPy scalars) by type and value;
- anything else (functions, modules, classes, locks, C objects) by identity:
  replacing it is a change, what happens inside it is not seen;
- an object met twice (`queue.memory` is `memory`) once, then as "same as <path>";
- under `<global>`: Python's `random`, NumPy's global `np.random` and, when
  TensorFlow is imported and has made one, TensorFlow's global generator.

Other objects, later: when the walk cannot see an object's state (a C object has
no `__dict__`; an environment in a subprocess is out of reach), teach it with
`register_reader(type, read)`, where `read(obj)` returns a plain value to walk
instead (arrays, dicts, lists, scalars), e.g.

    register_reader(pygame.Surface, pygame.surfarray.array3d)

TensorFlow and Keras objects are read already: a layer's or model's
`get_weights()`, an optimizer's `variables`, a tensor's `numpy()`; any other
(a `tf.function`, say) is compared by identity. Process-wide state beyond the
generators above (a library's own global seed, say) is added with
`register_global(name, read)`. An attribute that may change without the
object's meaning changing (a cache) is left out with
`snapshot(obj, skip={"name"})` / `assert_refused(..., skip={"name"})`.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import sys
import types
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest

# type -> read(obj): the plain value to compare instead of walking obj itself
READERS: dict[type, Callable[[Any], Any]] = {}
# name -> read(): process-wide state captured under "<global>.name"
GLOBALS: dict[str, Callable[[], Any]] = {}

SCALARS = (type(None), bool, int, float, complex, str, bytes, np.generic)
# classes, functions, methods and modules: compared by identity
OPAQUE = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.MethodWrapperType,
    types.ModuleType,
    functools.partial,
)


def register_reader(kind: type, read: Callable[[Any], Any]) -> None:
    """Compare objects of type `kind` (and its subclasses) by `read(obj)`."""
    READERS[kind] = read


def register_global(name: str, read: Callable[[], Any]) -> None:
    """Capture `read()` with the process's global generators in every snapshot."""
    GLOBALS[name] = read


def _seed_sequence(seq) -> dict:
    return {
        "entropy": seq.entropy,
        "spawn_key": seq.spawn_key,
        "n_children_spawned": seq.n_children_spawned,
    }


def _bit_generator(bits) -> dict:
    seq = getattr(bits, "seed_seq", None)
    return {
        "state": bits.state,
        "seed_seq": None if seq is None else _seed_sequence(seq),
    }


register_reader(np.random.Generator, lambda g: _bit_generator(g.bit_generator))
register_reader(np.random.BitGenerator, _bit_generator)
register_reader(np.random.SeedSequence, _seed_sequence)
register_reader(np.random.RandomState, lambda r: r.get_state(legacy=False))
register_reader(random.Random, lambda r: r.getstate())


def _tensorflow_generator():
    """TensorFlow's global generator's state, if one exists (never makes one:
    `tf.random.get_global_generator()` would, from a non-deterministic seed)."""
    ops = sys.modules.get("tensorflow.python.ops.stateful_random_ops")
    generator = getattr(ops, "global_generator", None)
    return None if generator is None else generator.state.numpy()


register_global("random", random.getstate)
register_global("numpy", lambda: np.random.get_state(legacy=False))  # noqa: NPY002
register_global("tensorflow", _tensorflow_generator)


def _reader(obj) -> Callable[[Any], Any] | None:
    for kind in type(obj).__mro__:
        if kind in READERS:
            return READERS[kind]
    module = type(obj).__module__.split(".")[0]
    if module in ("tensorflow", "keras", "tf_keras"):
        return _read_framework
    return None


def _read_framework(obj):
    """A TensorFlow or Keras object's values: a layer's or model's weights, an
    optimizer's or metric's variables, a tensor's or variable's array; anything
    else there (a `tf.function`, a graph) by identity, not walked into."""
    reads = (
        lambda o: o.get_weights(),
        lambda o: [v.numpy() for v in o.variables],
        lambda o: o.numpy(),
    )
    for read in reads:
        try:
            return read(obj)
        except Exception:  # noqa: BLE001 - not this kind of object: try the next
            continue
    return ("identity", id(obj))


def _attributes(obj) -> dict[str, Any] | None:
    """`obj`'s own attributes (`__dict__` and `__slots__`), or None if it has none."""
    names: dict[str, Any] = {}
    for kind in type(obj).__mro__:
        for slot in kind.__dict__.get("__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                names[slot] = getattr(obj, slot)
    if hasattr(obj, "__dict__") and isinstance(vars(obj), dict):
        names.update(vars(obj))
    return names if names or hasattr(obj, "__dict__") else None


def _walk(obj, path: str, out: dict, seen: dict[int, str], skip: set[str]) -> None:
    if isinstance(obj, SCALARS):
        out[path] = (type(obj).__name__, repr(obj))
        return
    if id(obj) in seen:
        out[path] = ("same as", seen[id(obj)])
        return
    seen[id(obj)] = path
    kind = type(obj).__name__
    read = _reader(obj)
    if read is not None:
        out[path] = ("read", kind)
        _walk(read(obj), f"{path}<{kind}>", out, {}, skip)
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            out[path] = ("object array", obj.shape)
            for i, item in enumerate(obj.flat):
                _walk(item, f"{path}.flat[{i}]", out, seen, skip)
        else:
            out[path] = obj.copy()
    elif isinstance(obj, dict):
        out[path] = (kind, [repr(key) for key in obj])
        for key, value in obj.items():
            _walk(value, f"{path}[{key!r}]", out, seen, skip)
    elif isinstance(obj, (list, tuple, deque)):
        out[path] = (kind, len(obj))
        for i, item in enumerate(obj):
            _walk(item, f"{path}[{i}]", out, seen, skip)
    elif isinstance(obj, (set, frozenset)):
        out[path] = (kind, sorted(map(repr, obj)))
    elif isinstance(obj, OPAQUE):
        out[path] = ("identity", kind, id(obj))
    else:
        attributes = _attributes(obj)
        if attributes is None:  # a C object without attributes: by identity
            out[path] = ("identity", kind, id(obj))
            return
        if dataclasses.is_dataclass(obj):
            kind = f"dataclass {kind}"
        out[path] = ("object", kind)
        for name, value in attributes.items():
            if name not in skip:
                _walk(value, f"{path}.{name}", out, seen, skip)


def snapshot(obj, *, skip: Iterable[str] = (), include_globals: bool = True) -> dict:
    """`obj`'s whole state (and the process's global generators, unless
    `include_globals` is False)
    as a flat `{path: value}` dict; see the module's docstring for what is read.
    Attributes named in `skip` are left out wherever they occur."""
    out: dict[str, Any] = {}
    _walk(obj, "root", out, {}, set(skip))
    if include_globals:
        for name, read in GLOBALS.items():
            _walk(read(), f"<global>.{name}", out, {}, set())
    return out


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        try:
            return bool(np.array_equal(a, b, equal_nan=True))
        except TypeError:  # a dtype without NaN (str, structured)
            return bool(np.array_equal(a, b))
    return type(a) is type(b) and a == b


def differences(before: dict, after: dict) -> list[str]:
    """The paths whose values differ between two snapshots (or exist in one)."""
    changed = [p for p in before if p in after and not _same(before[p], after[p])]
    gone = [f"{p} (gone)" for p in before if p not in after]
    new = [f"{p} (new)" for p in after if p not in before]
    return changed + gone + new


def assert_unchanged(before: dict, after: dict) -> None:
    """Fail naming every path where two snapshots differ."""
    changed = differences(before, after)
    assert not changed, f"a refused call changed {changed}"


def assert_refused(
    obj,
    call: Callable[[], Any],
    error: type[BaseException] = ValueError,
    match: str | None = None,
    *,
    skip: Iterable[str] = (),
) -> pytest.ExceptionInfo:
    """`call()` raises `error` matching `match` (a regular expression, searched),
    and `obj` (None: nothing but the globals; a tuple: several objects) and the
    process's global generators are as they were. Returns the raised error."""
    before = snapshot(obj, skip=skip)
    with pytest.raises(error, match=match) as info:
        call()
    assert_unchanged(before, snapshot(obj, skip=skip))
    return info
