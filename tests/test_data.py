import hashlib
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_mnist

from lib import data
from lib.data import MNISTError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def test_network3_split_and_scaling(mnist_file):
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data.load_mnist(mnist_file)
    assert x_train.shape == (50_000, 28, 28, 1) and x_val.shape == (10_000, 28, 28, 1)
    assert x_test.shape == (10_000, 28, 28, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    index = np.arange(60_000)
    # training = first 50,000 official images, validation = the last 10,000, in order
    np.testing.assert_array_equal(x_train[:, 0, 0, 0] * 256, index[:50_000] % 251)
    np.testing.assert_array_equal(x_val[:, 0, 0, 0] * 256, index[50_000:] % 251)
    np.testing.assert_array_equal(y_val, index[50_000:] % 10)
    # pixels / 256, as network3 scales them
    assert x_test.max() == np.float32(255 / 256)
    np.testing.assert_array_equal(y_test, np.arange(10_000) % 10)


def test_keras_split_divides_by_255(mnist_file):
    (x_train, _), (x_test, _) = data.load_mnist_60k(mnist_file)
    assert x_train.shape == (60_000, 28, 28, 1)
    assert x_test.max() == 1.0


def test_env_var_is_used_when_no_path_is_given(mnist_file, monkeypatch):
    monkeypatch.setenv("MNIST_NPZ", str(mnist_file))
    assert data.mnist_arrays()[0].shape == (60_000, 28, 28)


def test_explicit_path_wins_over_env_var(mnist_file, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "missing.npz"))
    assert data.mnist_arrays(mnist_file)[2].shape == (10_000, 28, 28)


def test_missing_file_names_it_and_says_how_to_fix(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "mnist.npz"
    monkeypatch.setenv("MNIST_NPZ", str(missing))
    with pytest.raises(MNISTError, match="does not exist") as error:
        data.load_mnist()
    assert str(missing) in str(error.value) and "MNIST_NPZ" in str(error.value)


def test_truncated_file_is_a_clear_error(mnist_file, tmp_path):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(mnist_file.read_bytes()[: mnist_file.stat().st_size // 2])
    with pytest.raises(MNISTError, match="truncated or corrupt") as error:
        data.load_mnist(truncated)
    assert str(truncated) in str(error.value)


def test_not_an_npz_is_a_clear_error(tmp_path):
    junk = tmp_path / "mnist.npz"
    junk.write_text("<html>404</html>")
    with pytest.raises(MNISTError, match="not a readable .npz"):
        data.load_mnist(junk)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("y_test"), r"lacks the arrays \['y_test'\]"),
        (lambda a: a.update(x_train=a["x_train"][:59_999]), r"x_train is uint8\[59999, 28, 28\]"),
        (lambda a: a.update(x_test=a["x_test"].astype(np.float32)), "x_test is float32"),
        (lambda a: a.update(y_train=a["y_train"] + 1), "y_train has labels above 9"),
    ],
)
def test_wrong_contents_are_clear_errors(tmp_path, change, message):
    arrays = synthetic_mnist()
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(MNISTError, match=message) as error:
        data.load_mnist(path)
    assert "MNIST_NPZ" in str(error.value)


def test_offline_without_cache_is_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setattr("keras.utils.get_file", offline)
    with pytest.raises(MNISTError, match="could not be downloaded") as error:
        data.load_mnist()
    assert "MNIST_NPZ" in str(error.value) and "no network" in str(error.value)


def test_keras_cache_is_used_without_env_var(mnist_file, monkeypatch):
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setattr("keras.utils.get_file", lambda *args, **kwargs: str(mnist_file))
    assert data.mnist_arrays()[1].shape == (60_000,)


@pytest.mark.skipif(not SHARED.exists() and "MNIST_NPZ" not in os.environ, reason="no MNIST file here")
def test_real_mnist_matches_published_checksum():
    arrays = data.mnist_arrays(os.environ.get("MNIST_NPZ") or SHARED)
    digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()
    assert digest == "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"


def test_expand_adds_four_one_pixel_shifts_with_zero_fill():
    image = np.arange(1, 28 * 28 + 1, dtype=np.float32).reshape(1, 28, 28, 1)
    original, down, up, right, left = data.shifted_copies(image)[0, ..., 0]
    np.testing.assert_array_equal(original, image[0, ..., 0])
    np.testing.assert_array_equal(down[1:], original[:-1])
    np.testing.assert_array_equal(up[:-1], original[1:])
    np.testing.assert_array_equal(right[:, 1:], original[:, :-1])
    np.testing.assert_array_equal(left[:, :-1], original[:, 1:])
    assert not down[0].any() and not up[-1].any() and not right[:, 0].any() and not left[:, -1].any()


def test_expand_keeps_labels_with_their_images_and_shuffles_once():
    rng = np.random.default_rng(1)
    x = rng.random((50, 28, 28, 1), dtype=np.float32)
    y = np.arange(50) % 10
    images, labels = data.expand(x, y, seed=3)
    assert images.shape == (250, 28, 28, 1) and np.bincount(labels).tolist() == [25] * 10
    index = {x[i].tobytes(): i for i in range(50)}
    originals = [index[img.tobytes()] for img in images if img.tobytes() in index]
    assert sorted(originals) == list(range(50))  # each original exactly once
    assert originals != sorted(originals)  # shuffled
    assert all(labels[k] == y[index[images[k].tobytes()]] for k in range(250) if images[k].tobytes() in index)
    again, _ = data.expand(x, y, seed=3)
    np.testing.assert_array_equal(images, again)


def test_a_directory_is_named_as_such(tmp_path):
    with pytest.raises(MNISTError, match="is a directory, not an .npz file"):
        data.load_mnist(tmp_path)


def test_a_text_file_does_not_repeat_numpys_pickle_hint(tmp_path):
    text = tmp_path / "mnist.npz"
    text.write_text("x_train,y_train\n0,1\n")
    with pytest.raises(MNISTError, match="not a zip archive") as error:
        data.load_mnist(text)
    assert "allow_pickle" not in str(error.value)


def test_a_corrupted_compressed_member_is_a_clear_error(tmp_path):
    path = tmp_path / "mnist.npz"
    arrays = synthetic_mnist()
    arrays["x_train"] = np.random.default_rng(0).integers(0, 8, arrays["x_train"].shape, np.uint8)
    np.savez_compressed(path, **arrays)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"x_train.npy") + 100_000  # inside the deflated stream of x_train
    raw[start : start + 64] = b"\xff" * 64  # an invalid deflate block: zlib.error
    path.write_bytes(bytes(raw))
    with pytest.raises(MNISTError, match="truncated or corrupt.*: error: Error -3") as error:
        data.load_mnist(path)
    assert str(path) in str(error.value)


def test_a_download_that_never_answers_fails_after_the_timeout(tmp_path, monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setattr(data, "KERAS_ORIGIN", f"http://127.0.0.1:{server.getsockname()[1]}/mnist.npz")
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT_S", 1)
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path / "keras"))
    started = time.perf_counter()
    try:
        with pytest.raises(MNISTError, match="could not be downloaded"):
            data.load_mnist()
    finally:
        server.close()
    assert time.perf_counter() - started < 20
