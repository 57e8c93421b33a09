import os

import numpy as np
import pytest

from utils import load_array, load_model, make_run_dir, save_array, save_model


def test_run_dirs_never_collide(tmp_path):
    dirs = [make_run_dir("01_test", root=tmp_path) for _ in range(3)]
    assert len(set(dirs)) == 3
    assert all(d.is_dir() and d.parent == tmp_path / "01_test" for d in dirs)


def test_array_round_trip_and_no_clobber(tmp_path):
    path = tmp_path / "q_table.npy"
    table = np.arange(12.0).reshape(3, 4)
    save_array(path, table)
    np.testing.assert_array_equal(load_array(path), table)
    with pytest.raises(FileExistsError, match="q_table.npy exists"):
        save_array(path, table * 2)
    np.testing.assert_array_equal(load_array(path), table)
    assert [p.name for p in tmp_path.iterdir()] == ["q_table.npy"]  # no temp files


def test_missing_and_corrupt_arrays_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved array at"):
        load_array(tmp_path / "nothing.npy")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an array")
    with pytest.raises(ValueError, match="bad.npy is not a readable .npy array"):
        load_array(bad)
    with pytest.raises(ValueError, match="must end in .npy"):
        save_array(tmp_path / "table.pkl", np.zeros(2))


def test_model_round_trip_acts_identically(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    path = save_model(tmp_path / "model.keras", model)
    loaded = load_model(path)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(model(x, training=False), loaded(x, training=False))


def test_missing_and_corrupt_models_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        load_model(tmp_path / "none.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="bad.keras is not a readable .keras model"):
        load_model(bad)


def test_fixed_non_trainable_weights_survive_save_and_load(tmp_path):
    # The Blob DQN's centre-of-mass layer: a frozen Dense layer with set weights.
    import keras

    fixed = keras.layers.Dense(2, use_bias=False, trainable=False)
    model = keras.Sequential(
        [keras.Input((3, 100)), fixed, keras.layers.Flatten(), keras.layers.Dense(9)]
    )
    grid = np.random.default_rng(1).random((100, 2)).astype(np.float32)
    fixed.set_weights([grid])
    loaded = load_model(save_model(tmp_path / "fixed.keras", model))
    np.testing.assert_array_equal(loaded.layers[0].get_weights()[0], grid)
    assert not loaded.layers[0].trainable
    x = np.random.default_rng(2).random((16, 3, 100)).astype(np.float32)
    np.testing.assert_array_equal(
        model(x, training=False).numpy().argmax(1),
        loaded(x, training=False).numpy().argmax(1),
    )


@pytest.mark.parametrize("name", ["../escape", "/abs", "", "a/b"])
def test_a_run_folder_stays_under_its_root(tmp_path, name):
    with pytest.raises(ValueError, match="notebook must be a plain folder name"):
        make_run_dir(name, root=tmp_path)


def test_a_saved_array_is_readable_by_others_as_a_plain_file_would_be(tmp_path):
    path = save_array(tmp_path / "a.npy", np.zeros(3))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    (tmp_path / "folder.npy").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        save_array(tmp_path / "folder.npy", np.zeros(3))


@pytest.mark.parametrize("overwrite", ["no", 1, None])
def test_overwrite_must_be_a_bool_and_a_refusal_keeps_the_file(tmp_path, overwrite):
    path = save_array(tmp_path / "kept.npy", np.array([1, 2]))
    with pytest.raises(
        ValueError, match=f"overwrite must be True or False, got {overwrite!r}"
    ):
        save_array(path, np.array([9, 9]), overwrite=overwrite)
    np.testing.assert_array_equal(load_array(path), [1, 2])


@pytest.mark.parametrize("array", [[1, None], [[1], [1, 2]]])
def test_an_array_npy_cannot_hold_is_refused_before_any_folder_is_made(tmp_path, array):
    with pytest.raises(ValueError, match="array must"):
        save_array(tmp_path / "new" / "x.npy", array)
    assert not (tmp_path / "new").exists()


def test_save_model_refuses_what_is_not_a_model(tmp_path):
    with pytest.raises(
        ValueError, match="model must be a Keras model, got 'not a model'"
    ):
        save_model(tmp_path / "m.keras", "not a model")
