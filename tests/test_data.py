"""Datasets: the IDX reader, offline discovery with a clear message, generated sets."""

import gzip
import struct

import numpy as np
import pytest
import torch

from genmodels import data
from genmodels.errors import DatasetUnavailable


def write_idx(path, array: np.ndarray, compress: bool = True):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def make_mnist_folder(folder, n_train=64, n_test=16, compress=True, seed=0):
    """A tiny MNIST-format dataset: random 28x28 images and labels 0-9, in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, (n,)), compress)
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No ./data, an empty cache, GENLAB_DATA unset: only what a test creates is found."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    return tmp_path


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for compress in (True, False):
        path = write_idx(tmp_path / f"x{compress}", array, compress)
        assert np.array_equal(data.read_idx(path), array)


def test_truncated_and_foreign_idx_files_are_refused_by_name(tmp_path):
    good = write_idx(tmp_path / "good", np.zeros((3, 28, 28)), compress=False)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(DatasetUnavailable, match="truncated"):
        data.read_idx(truncated)
    text = tmp_path / "text"
    text.write_text("<html>not a dataset</html>")
    with pytest.raises(DatasetUnavailable, match="not an IDX file"):
        data.read_idx(text)


@pytest.mark.parametrize("layout", ["mnist", "MNIST/raw"])
def test_mnist_loads_from_a_local_folder_in_either_layout(isolated, layout):
    make_mnist_folder(isolated / "data" / layout)
    mnist = data.load_dataset("mnist")
    assert mnist.train_x.shape == (64, 1, 28, 28) and mnist.test_x.shape == (16, 1, 28, 28)
    assert mnist.train_x.dtype == torch.float32 and 0 <= mnist.train_x.min() and mnist.train_x.max() <= 1
    assert mnist.class_names == data.DIGIT_CLASSES
    assert data.where_available("mnist").endswith(layout)


def test_genlab_data_comes_first_and_arrays_are_cached(isolated, monkeypatch):
    make_mnist_folder(isolated / "data" / "mnist", n_train=10, seed=1)
    make_mnist_folder(isolated / "mine" / "mnist", n_train=20, seed=2, compress=False)
    monkeypatch.setenv("GENLAB_DATA", str(isolated / "mine"))
    assert len(data.load_dataset("mnist").train_x) == 20
    assert list((isolated / "cache" / "arrays").glob("*.npz"))  # decoded once, cached
    assert len(data.load_dataset("mnist").train_x) == 20  # from the cache


def test_a_missing_dataset_offline_says_where_to_put_the_files(isolated):
    with pytest.raises(DatasetUnavailable) as error:
        data.load_dataset("kmnist")
    message = str(error.value)
    assert "could not be downloaded" in message and "GENLAB_DATA" in message and "t10k-images" in message


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(DatasetUnavailable, match="valid: fashion-mnist, mnist"):
        data.load_dataset("imagenet")


def test_sprites_are_deterministic_labelled_and_in_range():
    a, b = data.sprites(seed=1, n_train=50, n_test=10), data.sprites(seed=1, n_train=50, n_test=10)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert a.train_x.shape == (50, 1, 28, 28) and 0 <= a.train_x.min() and a.train_x.max() <= 1
    assert not torch.equal(a.train_x[:10], a.test_x)  # the splits differ
    assert set(a.train_y.tolist()) <= set(range(len(data.SPRITE_CLASSES)))
    assert (a.train_x.flatten(1).max(dim=1).values > 0.9).all()  # every sprite is visible


@pytest.mark.parametrize("name", ["toy-ring", "toy-grid", "toy-moons", "toy-spiral"])
def test_toys_are_2d_points(name):
    toy = data.load_dataset(name)
    assert toy.kind == "points" and toy.train_x.shape[1] == 2 and len(toy.test_x) > 0


def test_ring_points_sit_near_their_modes():
    ring = data.toy("toy-ring", n_train=400)
    distance = (ring.train_x - ring.modes[ring.train_y]).norm(dim=1)
    assert len(ring.modes) == 8 and distance.max() < 6 * ring.mode_std


def test_batches_cover_the_dataset_once_per_epoch():
    batches = data.batch_indices(10, 4, torch.Generator().manual_seed(0), "cpu")
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))


def test_fashion_mnist_loads_offline_from_the_debian_package():
    if data.where_available("fashion-mnist") is None:
        pytest.fail("Fashion-MNIST is not on this machine: apt-get install dataset-fashion-mnist (.ci/run does)")
    fashion = data.load_dataset("fashion-mnist")
    assert fashion.train_x.shape == (60000, 1, 28, 28) and fashion.test_x.shape == (10000, 1, 28, 28)
    assert fashion.class_names[9] == "Ankle boot" and set(fashion.train_y.unique().tolist()) == set(range(10))


def test_is_available_is_false_for_unknown_or_missing_datasets(isolated):
    assert data.is_available("sprites") and not data.is_available("your-images")
    assert not data.is_available("kmnist")  # known, but not on disk here
