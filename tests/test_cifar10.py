import io
import os
import pickle
import shutil
import socket
import struct
from pathlib import Path

import keras
import numpy as np
import pytest

from lib import data
from lib.data import CIFAR10Error, CIFAR10Missing

CIFAR10_SMALL = {"train": 20, "test": 5}  # monkeypatched into lib.data.CIFAR10_SIZES: 5 batches of 4


def cifar10_pixel(index, channel, row, column):
    """The value the small CIFAR-10 files give each pixel: it encodes the image's index and the pixel."""
    return (7 * index + 85 * channel + 3 * row + column) % 256


def small_cifar10(offset=0):
    """The arrays ``x_train, y_train, x_test, y_test`` of the small CIFAR-10 files, channels last: image
    i (test images follow the training images) holds ``cifar10_pixel(offset + i, ...)``, label i % 10."""
    n_train, n = CIFAR10_SMALL["train"], sum(CIFAR10_SMALL.values())
    images = np.fromfunction(lambda i, h, w, c: cifar10_pixel(offset + i, c, h, w), (n, 32, 32, 3), dtype=int)
    images, labels = images.astype(np.uint8), (np.arange(n) % 10).astype(np.uint8)
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


class Python2Pickler(pickle._Pickler):
    """Pickles str and bytes as Python 2's str (SHORT_BINSTRING/BINSTRING), as the official CIFAR-10
    batches were written, instead of Python 3's codecs.encode call."""

    def save_python2_str(self, obj):
        raw = obj if isinstance(obj, bytes) else obj.encode("latin-1")
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch = {**pickle._Pickler.dispatch, bytes: save_python2_str, str: save_python2_str}


def cifar10_batch_bytes(batch):
    """``batch`` pickled as the official batches are: protocol 2, Python 2 strings, numpy.core names."""
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(batch)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_cifar10_folder(folder, offset=0):
    """Write ``small_cifar10(offset)`` as a cifar-10-batches-py folder: data_batch_1..5 and test_batch,
    each a dict with b"data" (n, 3072) uint8 rows of 1,024 red, green then blue pixels, b"labels" a
    list of ints, b"batch_label" and b"filenames"."""
    x_train, y_train, x_test, y_test = small_cifar10(offset)
    folder.mkdir(parents=True)
    parts = list(zip(np.split(x_train, 5), np.split(y_train, 5), strict=True)) + [(x_test, y_test)]
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (images, labels) in zip(names, parts, strict=True):
        batch = {
            b"batch_label": f"{name} of the small test set".encode(),
            b"labels": labels.tolist(),
            b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072),
            b"filenames": [f"image_{i}.png".encode() for i in range(len(images))],
        }
        (folder / name).write_bytes(cifar10_batch_bytes(batch))
    return folder


@pytest.fixture(autouse=True)
def small_sizes(monkeypatch):
    """lib.data expects the small files' sizes."""
    monkeypatch.setattr(data, "CIFAR10_SIZES", CIFAR10_SMALL)


@pytest.fixture(autouse=True)
def no_sources(tmp_path, monkeypatch):
    """No CIFAR-10 named by the environment, an empty Keras cache, and no download."""
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.delenv("CIFAR10_NPZ", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr("keras.utils.get_file", offline)
    return tmp_path / "keras"


def offline(*args, **kwargs):
    raise Exception("URL fetch failure: no network")


@pytest.fixture
def cifar10_folder(tmp_path):
    """A small cifar-10-batches-py folder of ``small_cifar10()``."""
    return write_cifar10_folder(tmp_path / "cifar-10-batches-py")


def write_npz(path, arrays, **changes):
    """Save ``arrays`` (x_train, y_train, x_test, y_test) as an .npz with named arrays replaced."""
    named = dict(zip(["x_train", "y_train", "x_test", "y_test"], arrays, strict=True)) | changes
    np.savez(path, **{key: value for key, value in named.items() if value is not None})
    return path


def rewrite_batch(path, change):
    """Apply ``change`` to the dict of the (trusted) batch file ``path`` and write it back."""
    batch = pickle.loads(path.read_bytes(), encoding="bytes")
    change(batch)
    path.write_bytes(cifar10_batch_bytes(batch))


def test_batches_are_read_in_order_and_channels_last(cifar10_folder):
    x_train, y_train, x_test, y_test = data.cifar10_arrays(cifar10_folder)
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (5, 32, 32, 3)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    assert x_train[13, 2, 5, 1] == cifar10_pixel(13, channel=1, row=2, column=5)  # batch 4's second image
    assert x_test[0, 31, 0, 2] == cifar10_pixel(20, channel=2, row=31, column=0)
    for array, expected in zip([x_train, y_train, x_test, y_test], small_cifar10(), strict=True):
        np.testing.assert_array_equal(array, expected)


def test_keras_reads_the_small_batches_as_lib_data_does(cifar10_folder):
    from keras.src.datasets.cifar import load_batch  # Keras' reader of the official batches

    images, labels = load_batch(cifar10_folder / "data_batch_5")
    x_train, y_train, _, _ = data.cifar10_arrays(cifar10_folder)
    np.testing.assert_array_equal(images.transpose(0, 2, 3, 1), x_train[16:])
    assert labels == y_train[16:].tolist()


def test_load_cifar10_scales_pixels_by_255_and_labels_to_int32(cifar10_folder):
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(cifar10_folder)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == y_test.dtype == np.int32
    x, y, _, _ = small_cifar10()
    assert x.max() == 255 and x_train.max() == 1.0
    np.testing.assert_array_equal(x_train, x.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y_train, y)


@pytest.mark.parametrize("label_shape", [(-1, 1), (-1,)])  # keras.datasets.cifar10's (n, 1), or flat
def test_npz_of_the_keras_arrays(tmp_path, label_shape):
    x_train, y_train, x_test, y_test = small_cifar10()
    path = write_npz(
        tmp_path / "cifar10.npz",
        [x_train, y_train.reshape(label_shape), x_test, y_test.astype(np.int64).reshape(label_shape)],
    )
    arrays = data.cifar10_arrays(path)
    for array, expected in zip(arrays, small_cifar10(), strict=True):
        assert array.dtype == np.uint8
        np.testing.assert_array_equal(array, expected)


def test_sources_in_order_path_dir_npz_cache_download(tmp_path, monkeypatch, no_sources):
    def source(arrays):  # which of the offsets below the arrays were written with
        return int(arrays[0][0, 0, 0, 0]) // 7

    path = write_cifar10_folder(tmp_path / "path", offset=1)
    folder = write_cifar10_folder(tmp_path / "folder", offset=2)
    npz = write_npz(tmp_path / "cifar10.npz", small_cifar10(offset=3))
    cache = write_cifar10_folder(no_sources / "datasets/cifar-10-batches-py-target/cifar-10-batches-py", 4)
    monkeypatch.setenv("CIFAR10_DIR", str(folder))
    monkeypatch.setenv("CIFAR10_NPZ", str(npz))
    assert source(data.cifar10_arrays(path)) == 1 and data.cifar10_location(path) == path
    assert source(data.cifar10_arrays()) == 2 and data.cifar10_location() == folder
    monkeypatch.delenv("CIFAR10_DIR")
    assert source(data.cifar10_arrays()) == 3 and data.cifar10_location() == npz
    monkeypatch.delenv("CIFAR10_NPZ")
    assert source(data.cifar10_arrays()) == 4 and data.cifar10_location() == cache
    (cache / "test_batch").unlink()
    assert data.cifar10_location() is None

    def downloaded(fname, cache_dir, **kwargs):  # as get_file: the archive extracted into the cache
        extracted = Path(cache_dir) / "datasets" / fname
        shutil.rmtree(extracted)
        write_cifar10_folder(extracted / "cifar-10-batches-py", offset=5)
        return str(extracted)

    monkeypatch.setattr("keras.utils.get_file", downloaded)
    assert source(data.cifar10_arrays()) == 5 and data.cifar10_location() == cache


def test_download_asks_keras_for_what_keras_datasets_cifar10_downloads(no_sources, monkeypatch):
    calls = []

    def recording(*args, **kwargs):
        calls.append((args, kwargs, socket.getdefaulttimeout()))
        raise Exception("recorded")

    monkeypatch.setattr("keras.src.datasets.cifar10.get_file", recording)
    monkeypatch.setattr("keras.utils.get_file", recording)
    with pytest.raises(Exception, match="recorded"):
        keras.datasets.cifar10.load_data()
    with pytest.raises(CIFAR10Missing):
        data.cifar10_arrays()
    (keras_args, keras_kwargs, _), (args, kwargs, timeout) = calls
    assert args == keras_args and kwargs == keras_kwargs | {"cache_dir": str(no_sources)}
    assert timeout == data.DOWNLOAD_TIMEOUT_S and socket.getdefaulttimeout() is None


def test_no_cifar10_anywhere_is_one_line_that_says_how_to_fix():
    with pytest.raises(
        CIFAR10Missing, match="CIFAR-10 is not in the Keras cache and could not be downloaded"
    ) as error:
        data.load_cifar10()
    message = str(error.value)
    assert "no network" in message and data.CIFAR10_ORIGIN in message and "\n" not in message
    assert "CIFAR10_DIR" in message and "CIFAR10_NPZ" in message and "cifar-10-batches-py" in message
    assert isinstance(error.value, data.CIFAR10Error) and isinstance(error.value, data.DataError)
    assert issubclass(data.MNISTError, data.DataError) and issubclass(data.DataError, RuntimeError)


def test_location_does_not_download_or_validate(tmp_path, no_sources, monkeypatch):
    monkeypatch.setattr("keras.utils.get_file", lambda *args, **kwargs: pytest.fail("get_file was called"))
    assert data.cifar10_location() is None
    assert data.cifar10_location(tmp_path / "nowhere") == tmp_path / "nowhere"
    monkeypatch.setenv("CIFAR10_NPZ", str(tmp_path / "missing.npz"))
    assert data.cifar10_location() == tmp_path / "missing.npz"
    monkeypatch.delenv("CIFAR10_NPZ")
    cache = write_cifar10_folder(no_sources / "datasets/cifar-10-batches-py-target/cifar-10-batches-py")
    (cache / "data_batch_5").write_bytes(b"")  # present, though unreadable
    assert data.cifar10_location() == cache
    (cache / "data_batch_5").unlink()  # an interrupted extraction: not there yet
    assert data.cifar10_location() is None


def assert_one_line_naming(error, path):
    message = str(error.value)
    assert str(path) in message and "CIFAR10_DIR" in message and "\n" not in message


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (None, "CIFAR-10 path .* does not exist"),
        ("CIFAR10_DIR", "CIFAR-10 folder .* does not exist"),
        ("CIFAR10_NPZ", "CIFAR-10 file .* does not exist"),
    ],
)
def test_a_missing_source_names_it(tmp_path, monkeypatch, variable, message):
    missing = tmp_path / "nowhere" / "cifar-10"
    if variable:
        monkeypatch.setenv(variable, str(missing))
    with pytest.raises(CIFAR10Error, match=message) as error:
        data.cifar10_arrays(None if variable else missing)
    assert_one_line_naming(error, missing)
    assert not isinstance(error.value, CIFAR10Missing)


def test_a_file_in_cifar10_dir_and_a_folder_in_cifar10_npz_are_named_as_such(tmp_path, monkeypatch):
    npz = write_npz(tmp_path / "cifar10.npz", small_cifar10())
    monkeypatch.setenv("CIFAR10_DIR", str(npz))
    with pytest.raises(CIFAR10Error, match="is a file, not the cifar-10-batches-py folder .*CIFAR10_NPZ"):
        data.cifar10_arrays()
    monkeypatch.delenv("CIFAR10_DIR")
    monkeypatch.setenv("CIFAR10_NPZ", str(tmp_path))
    with pytest.raises(CIFAR10Error, match="is a directory, not an .npz file .*CIFAR10_DIR") as error:
        data.cifar10_arrays()
    assert_one_line_naming(error, tmp_path)


def test_a_missing_batch_is_named(cifar10_folder):
    (cifar10_folder / "data_batch_3").unlink()
    with pytest.raises(CIFAR10Error, match="data_batch_3 does not exist") as error:
        data.cifar10_arrays(cifar10_folder)
    assert_one_line_naming(error, cifar10_folder / "data_batch_3")


def test_the_folder_above_the_batches_points_to_them(cifar10_folder):
    with pytest.raises(CIFAR10Error, match="the batches are in .*cifar-10-batches-py"):
        data.cifar10_arrays(cifar10_folder.parent)


def test_a_truncated_batch_is_a_clear_error(cifar10_folder):
    batch = cifar10_folder / "test_batch"
    batch.write_bytes(batch.read_bytes()[:5000])
    with pytest.raises(CIFAR10Error, match="is not a readable pickle \\(truncated or corrupt\\?\\)") as error:
        data.cifar10_arrays(cifar10_folder)
    assert_one_line_naming(error, batch)


def test_a_pickle_that_would_run_a_command_is_refused(cifar10_folder, tmp_path):
    ran = tmp_path / "the command ran"

    class Command:
        def __reduce__(self):
            return os.system, (f"touch '{ran}'",)

    (cifar10_folder / "data_batch_2").write_bytes(cifar10_batch_bytes({b"data": Command(), b"labels": []}))
    with pytest.raises(CIFAR10Error, match=r"holds a pickled posix\.system, .*refused") as error:
        data.cifar10_arrays(cifar10_folder)
    assert not ran.exists()
    assert_one_line_naming(error, cifar10_folder / "data_batch_2")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop(b"labels"), r"is not a dict with b'data' and b'labels'"),
        (lambda b: b.update({b"data": b[b"data"][:, :3071]}), r"b'data' is uint8\[4, 3071\], expected uint8"),
        (lambda b: b.update({b"data": b[b"data"] / 255}), r"b'data' is float64\[4, 3072\]"),
        (lambda b: b.update({b"data": b[b"data"].tolist()}), r"b'data' is list, expected uint8\[n, 3072\]"),
        (lambda b: b[b"labels"].pop(), r"b'labels' is int64\[3\], expected 4 integers"),
        (lambda b: b[b"labels"].__setitem__(2, 10), "b'labels' has labels outside 0-9"),
        (lambda b: b[b"labels"].__setitem__(2, -1), "b'labels' has labels outside 0-9"),
    ],
)
def test_a_malformed_batch_says_what_is_wrong(cifar10_folder, change, message):
    batch = cifar10_folder / "data_batch_4"
    rewrite_batch(batch, change)
    with pytest.raises(CIFAR10Error, match=message) as error:
        data.cifar10_arrays(cifar10_folder)
    assert_one_line_naming(error, batch)


def test_a_batch_that_is_not_a_dict_is_refused(cifar10_folder):
    (cifar10_folder / "test_batch").write_bytes(cifar10_batch_bytes([b"data", b"labels"]))
    with pytest.raises(CIFAR10Error, match="is not a dict with b'data' and b'labels'"):
        data.cifar10_arrays(cifar10_folder)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"train": 21, "test": 5}, "20 training images in data_batch_1-5, expected 21"),
        ({"train": 20, "test": 4}, "5 test images in test_batch, expected 4"),
    ],
)
def test_batches_of_the_wrong_size_are_a_clear_error(cifar10_folder, monkeypatch, sizes, message):
    monkeypatch.setattr(data, "CIFAR10_SIZES", sizes)
    with pytest.raises(CIFAR10Error, match=message) as error:
        data.cifar10_arrays(cifar10_folder)
    assert_one_line_naming(error, cifar10_folder)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"y_test": None}, r"lacks the arrays \['y_test'\]"),
        ({"x_train": small_cifar10()[0][:19]}, r"x_train is uint8\[19, 32, 32, 3\], expected uint8\[20, 32"),
        ({"x_test": small_cifar10()[2].transpose(0, 3, 1, 2)}, r"x_test is uint8\[5, 3, 32, 32\]"),
        ({"x_test": small_cifar10()[2] / 255}, r"x_test is float64\[5, 32, 32, 3\]"),
        (
            {"y_train": small_cifar10()[1] * 1.0},
            r"y_train is float64\[20\], expected integers \[20\] or \[20, 1",
        ),
        ({"y_train": small_cifar10()[1].reshape(4, 5)}, r"y_train is uint8\[4, 5\]"),
        ({"y_test": small_cifar10()[3] + 6}, "y_test has labels outside 0-9"),
    ],
)
def test_a_malformed_npz_says_what_is_wrong(tmp_path, changes, message):
    path = write_npz(tmp_path / "cifar10.npz", small_cifar10(), **changes)
    with pytest.raises(CIFAR10Error, match=message) as error:
        data.cifar10_arrays(path)
    assert_one_line_naming(error, path)


@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_a_truncated_or_foreign_npz_is_a_clear_error(tmp_path, keep):
    path = write_npz(tmp_path / "cifar10.npz", small_cifar10())
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)] or b"<html>404</html>")
    with pytest.raises(CIFAR10Error, match="is not a readable .npz \\(truncated or corrupt\\?\\)") as error:
        data.cifar10_arrays(path)
    assert_one_line_naming(error, path)


def test_stand_in_has_cifar10_shapes_scaling_and_balanced_classes():
    (x_train, y_train), (x_test, y_test) = data.cifar10_stand_in(300, 100)
    assert x_train.shape == (300, 32, 32, 3) and x_test.shape == (100, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == y_test.dtype == np.int32
    assert x_train.min() >= 0 and x_train.max() <= 1 and x_test.min() >= 0 and x_test.max() <= 1
    assert x_train.std() > 0.1 and 0.3 < x_train.mean() < 0.7, "pixels use the range as photos do"
    assert np.bincount(y_train).tolist() == [30] * 10 and np.bincount(y_test).tolist() == [10] * 10
    assert len(np.unique(x_train.reshape(300, -1), axis=0)) == 300, "every image differs"


def test_stand_in_is_the_same_for_a_seed_and_differs_between_seeds():
    first, again, other = (data.cifar10_stand_in(50, 20, seed=seed) for seed in [1, 1, 2])
    for (x, y), (x_again, y_again), (x_other, y_other) in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(x, x_again)
        np.testing.assert_array_equal(y, y_again)
        assert not np.array_equal(x, x_other) and not np.array_equal(y, y_other)


def test_stand_in_test_images_are_not_training_images():
    (x_train, _), (x_test, _) = data.cifar10_stand_in(200, 200)
    train = {image.tobytes() for image in x_train}
    assert not any(image.tobytes() in train for image in x_test)
