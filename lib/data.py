"""MNIST and CIFAR-10, loaded offline first; MNIST in the split and scaling that network3.py uses.

Where each piece is taught: the official arrays (``mnist_arrays``) in notebook 00, network3's split
and scaling (``load_mnist``) in notebook 01, the Keras examples' (``load_mnist_60k``) in notebooks 00
and 07, the expanded training set (``shifted_copies``, ``expand``) in notebook 04, CIFAR-10
(``load_cifar10``) and its generated stand-in (``cifar10_stand_in``) in notebook 11.
"""

import os
import pickle
import socket
import zipfile
import zlib
from pathlib import Path

import numpy as np

ENV_VAR = "MNIST_NPZ"
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
EXPECTED = {
    "x_train": (60_000, 28, 28),
    "y_train": (60_000,),
    "x_test": (10_000, 28, 28),
    "y_test": (10_000,),
}
DOWNLOAD_TIMEOUT_S = 30  # a server that accepts the connection and never answers fails after this
N_TRAIN = 50_000  # network3 keeps the last 10,000 official training images for validation
HOW_TO_FIX = (
    f"Point {ENV_VAR} at a Keras-layout mnist.npz (e.g. export {ENV_VAR}=../shared/data/mnist.npz), "
    "pass its path to load_mnist(path=...), or go online once so that Keras can download and cache it."
)


class DataError(RuntimeError):
    """A dataset could not be found or read; the message says which file and how to fix it."""


class MNISTError(DataError):
    """MNIST could not be found or read; the message says which file and how to fix it."""


def mnist_arrays(path=None):
    """Return the official MNIST arrays ``x_train, y_train, x_test, y_test`` (uint8), validated.

    Sources, in order: ``path``; the file named by ``$MNIST_NPZ``; the Keras cache
    (``~/.keras/datasets/mnist.npz``); a Keras download into that cache.
    """
    path = path or os.environ.get(ENV_VAR)
    if not path:
        path = _keras_cached_or_downloaded(
            "MNIST", MNISTError, HOW_TO_FIX, "mnist.npz", origin=KERAS_ORIGIN, file_hash=KERAS_SHA256
        )
    return read_npz(path)


def _keras_cached_or_downloaded(name, error_class, how_to_fix, *args, origin, **kwargs):
    """``keras.utils.get_file(*args, origin=origin, **kwargs)``, failing with one ``error_class`` line."""
    from keras.utils import get_file

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # urllib, under get_file, has no timeout of its own
    try:
        return get_file(*args, origin=origin, **kwargs)
    except Exception as error:
        raise error_class(
            f"{name} is not in the Keras cache and could not be downloaded from {origin} "
            f"({type(error).__name__}: {error}; {DOWNLOAD_TIMEOUT_S} s without an answer fails). {how_to_fix}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


def read_npz(path):
    """Read and validate a Keras-layout ``mnist.npz``; raise ``MNISTError`` if it is unusable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise MNISTError(f"MNIST file {path} is a directory, not an .npz file. {HOW_TO_FIX}")
    arrays = _npz_arrays(path, EXPECTED, MNISTError, "MNIST file", HOW_TO_FIX)
    for key, shape in EXPECTED.items():
        array = arrays[key]
        if array.shape != shape or array.dtype != np.uint8:
            raise MNISTError(
                f"MNIST file {path}: {key} is {array.dtype}{list(array.shape)}, "
                f"expected uint8{list(shape)}. {HOW_TO_FIX}"
            )
    for key in ("y_train", "y_test"):
        if arrays[key].max() > 9:
            raise MNISTError(f"MNIST file {path}: {key} has labels above 9. {HOW_TO_FIX}")
    return tuple(arrays[key] for key in EXPECTED)


def _npz_arrays(path, keys, error_class, what, how_to_fix):
    """The arrays ``keys`` of the .npz file ``path``, or one ``error_class`` line naming ``what``."""
    if not path.is_file():
        raise error_class(f"{what} {path} does not exist. {how_to_fix}")
    unreadable = f"{what} {path} is not a readable .npz (truncated or corrupt?)"
    if not zipfile.is_zipfile(path):
        raise error_class(f"{unreadable}: not a zip archive. {how_to_fix}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(set(keys) - set(npz.files))
            if missing:
                raise error_class(f"{what} {path} lacks the arrays {missing}. {how_to_fix}")
            return {key: npz[key] for key in keys}
    except error_class:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise error_class(f"{unreadable}: {type(error).__name__}: {reason}. {how_to_fix}") from None


def scale(images, divisor):
    """uint8 images (n, 28, 28) as float32 (n, 28, 28, 1) divided by ``divisor``."""
    return (images.astype(np.float32) / np.float32(divisor))[..., np.newaxis]


def load_mnist(path=None, n_train=N_TRAIN):
    """MNIST in network3.py's split and scaling (taught in notebook 01).

    Returns ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``: training = the first 50,000
    official training images, validation = the last 10,000 of them, test = the official 10,000.
    Images are float32 of shape (n, 28, 28, 1) holding pixel/256 (network3's scaling, in [0, 1));
    labels are int32 class indices 0-9. ``n_train`` keeps only the first images of the training
    set (the quick profile's smaller set); validation and test sets are always whole.
    """
    x_train, y_train, x_test, y_test = mnist_arrays(path)
    x, y = scale(x_train, 256), y_train.astype(np.int32)
    n_train = min(n_train, N_TRAIN)
    return (
        (x[:n_train], y[:n_train]),
        (x[N_TRAIN:], y[N_TRAIN:]),
        (scale(x_test, 256), y_test.astype(np.int32)),
    )


def load_mnist_60k(path=None):
    """MNIST in the Keras-examples split and scaling: 60,000 train and 10,000 test, pixel/255 (taught in
    notebook 00)."""
    x_train, y_train, x_test, y_test = mnist_arrays(path)
    return (
        (scale(x_train, 255), y_train.astype(np.int32)),
        (scale(x_test, 255), y_test.astype(np.int32)),
    )


def shifted_copies(x):
    """Each image of ``x`` (n, 28, 28, 1) and four copies shifted by one pixel: (n, 5, 28, 28, 1).

    The copies move down, up, right and left, as network3's ``expand_mnist.py`` makes them; the row
    or column a shift uncovers is zero.
    """
    copies = [x]
    for shift, axis, uncovered in [(1, 1, 0), (-1, 1, -1), (1, 2, 0), (-1, 2, -1)]:
        moved = np.roll(x, shift, axis=axis)
        index = [slice(None)] * moved.ndim
        index[axis] = uncovered
        moved[tuple(index)] = 0
        copies.append(moved)
    return np.stack(copies, axis=1)


def expand(x, y, seed=0):
    """network3's expanded training set: the images and their shifted copies, shuffled once (taught in
    notebook 04)."""
    copies = shifted_copies(x)
    images = copies.reshape(-1, *x.shape[1:])
    labels = np.repeat(y, copies.shape[1])
    order = np.random.default_rng(seed).permutation(len(images))
    return images[order], labels[order]


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_DIR_VAR, CIFAR10_NPZ_VAR = "CIFAR10_DIR", "CIFAR10_NPZ"
CIFAR10_SIZES = {"train": 50_000, "test": 10_000}
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_BATCHES = (*CIFAR10_TRAIN_BATCHES, "test_batch")
CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_CACHED = "cifar-10-batches-py-target"  # the folder keras.datasets.cifar10 extracts the archive into
CIFAR10_HOW_TO_FIX = (
    f"Point {CIFAR10_DIR_VAR} at the extracted cifar-10-batches-py folder of {CIFAR10_ORIGIN} or "
    f"{CIFAR10_NPZ_VAR} at an .npz holding the arrays of keras.datasets.cifar10.load_data() "
    "(x_train, y_train, x_test, y_test), pass either to cifar10_arrays(path=...), "
    "or go online once so that Keras downloads it."
)
# What the official batches, pickled by Python 2, hold besides plain data: numpy arrays and their dtype.
_BATCH_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class CIFAR10Error(DataError):
    """A CIFAR-10 source exists but is unusable; the message names the file and says how to fix it."""


class CIFAR10Missing(CIFAR10Error):
    """No CIFAR-10 anywhere: no path, no environment variable, not in the Keras cache, no download."""


def cifar10_location(path=None):
    """Where ``cifar10_arrays`` would read CIFAR-10 from without downloading it, or None; not validated.

    ``path``, else ``$CIFAR10_DIR``, else ``$CIFAR10_NPZ``, else the Keras cache if it holds the batches.
    """
    return _cifar10_source(path)[0]


def dataset_location(name):
    """Where the dataset ``name`` (an experiment's ``needs``: "CIFAR-10") is on this machine, or None."""
    return {"CIFAR-10": cifar10_location}[name]()


def _cifar10_source(path):
    """``(location, kind)`` of the first CIFAR-10 source named or cached; kind is "folder", "npz", or
    None for a ``path`` that may be either."""
    if path:
        return Path(path).expanduser(), None
    for variable, kind in [(CIFAR10_DIR_VAR, "folder"), (CIFAR10_NPZ_VAR, "npz")]:
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser(), kind
    cached = _keras_home() / "datasets" / CIFAR10_CACHED / "cifar-10-batches-py"
    if all((cached / name).is_file() for name in CIFAR10_BATCHES):
        return cached, "folder"
    return None, None


def _keras_home():
    """Keras' cache folder: ``$KERAS_HOME``, else ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()


def cifar10_arrays(path=None):
    """Return the official CIFAR-10 arrays ``x_train, y_train, x_test, y_test``, validated.

    Images are uint8 (n, 32, 32, 3), labels uint8 (n,): 50,000 training images (the five training
    batches in order) and 10,000 test images. Sources, in order: ``path`` (the cifar-10-batches-py
    folder, or an .npz); the folder named by ``$CIFAR10_DIR``; the .npz named by ``$CIFAR10_NPZ`` (the
    arrays of ``keras.datasets.cifar10.load_data()``); the Keras cache; a Keras download into it.
    """
    location, kind = _cifar10_source(path)
    if location is None:
        downloaded = _keras_cached_or_downloaded(
            "CIFAR-10",
            CIFAR10Missing,
            CIFAR10_HOW_TO_FIX,
            fname=CIFAR10_CACHED,
            origin=CIFAR10_ORIGIN,
            extract=True,
            file_hash=CIFAR10_SHA256,
            cache_dir=str(_keras_home()),
        )
        location, kind = Path(downloaded) / "cifar-10-batches-py", "folder"
    if kind is None:
        if not location.exists():
            raise CIFAR10Error(f"CIFAR-10 path {location} does not exist. {CIFAR10_HOW_TO_FIX}")
        kind = "folder" if location.is_dir() else "npz"
    return read_cifar10_folder(location) if kind == "folder" else read_cifar10_npz(location)


def read_cifar10_folder(folder):
    """Read and validate the official "python version" folder cifar-10-batches-py."""
    folder = Path(folder)
    if folder.is_file():
        raise CIFAR10Error(
            f"CIFAR-10 folder {folder} is a file, not the cifar-10-batches-py folder "
            f"(an .npz goes in {CIFAR10_NPZ_VAR}). {CIFAR10_HOW_TO_FIX}"
        )
    if not folder.is_dir():
        raise CIFAR10Error(f"CIFAR-10 folder {folder} does not exist. {CIFAR10_HOW_TO_FIX}")
    train = [read_cifar10_batch(folder / name) for name in CIFAR10_TRAIN_BATCHES]
    x_train = np.concatenate([images for images, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    x_test, y_test = read_cifar10_batch(folder / "test_batch")
    for images, split, what in [
        (x_train, "train", "training images in data_batch_1-5"),
        (x_test, "test", "test images in test_batch"),
    ]:
        if len(images) != CIFAR10_SIZES[split]:
            raise CIFAR10Error(
                f"CIFAR-10 folder {folder}: {len(images)} {what}, "
                f"expected {CIFAR10_SIZES[split]}. {CIFAR10_HOW_TO_FIX}"
            )
    return x_train, y_train, x_test, y_test


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles what an official CIFAR-10 batch holds and refuses every other global."""

    def find_class(self, module, name):
        if (module, name) in _BATCH_GLOBALS:
            return super().find_class(module, name)
        raise _Refused(f"{module}.{name}")


class _Refused(pickle.UnpicklingError):
    """A pickle named a global that no CIFAR-10 batch holds."""


def read_cifar10_batch(path):
    """Images uint8 (n, 32, 32, 3) and labels uint8 (n,) of one pickled batch of the python version.

    Each row of the batch's ``b"data"`` holds an image's 1,024 red, then green, then blue pixels.
    """
    path = Path(path)
    if not path.is_file():
        hint = ""
        if (path.parent / "cifar-10-batches-py").is_dir():
            hint = f" (the batches are in {path.parent / 'cifar-10-batches-py'})"
        raise CIFAR10Error(f"CIFAR-10 batch {path} does not exist{hint}. {CIFAR10_HOW_TO_FIX}")
    try:
        with open(path, "rb") as file:
            batch = _BatchUnpickler(file, encoding="bytes").load()
    except _Refused as refused:
        raise CIFAR10Error(
            f"CIFAR-10 batch {path} holds a pickled {refused}, which no CIFAR-10 batch holds: refused "
            f"(not the official file?). {CIFAR10_HOW_TO_FIX}"
        ) from None
    except Exception as error:  # a damaged pickle can fail in almost any way
        raise CIFAR10Error(
            f"CIFAR-10 batch {path} is not a readable pickle (truncated or corrupt?): "
            f"{type(error).__name__}: {error}. {CIFAR10_HOW_TO_FIX}"
        ) from None
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= set(batch):
        raise CIFAR10Error(
            f"CIFAR-10 batch {path} is not a dict with b'data' and b'labels' (not the official file?). "
            f"{CIFAR10_HOW_TO_FIX}"
        )
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        described = f"{data.dtype}{list(data.shape)}" if isinstance(data, np.ndarray) else type(data).__name__
        raise CIFAR10Error(
            f"CIFAR-10 batch {path}: b'data' is {described}, expected uint8[n, 3072]. {CIFAR10_HOW_TO_FIX}"
        )
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise CIFAR10Error(
            f"CIFAR-10 batch {path}: b'labels' is {labels.dtype}{list(labels.shape)}, expected "
            f"{len(data)} integers, one per image. {CIFAR10_HOW_TO_FIX}"
        )
    _check_labels(labels, f"CIFAR-10 batch {path}: b'labels'")
    images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels.astype(np.uint8)


def _check_labels(labels, what):
    """Raise ``CIFAR10Error`` if a label of ``what`` is not a class index 0-9."""
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise CIFAR10Error(f"{what} has labels outside 0-9. {CIFAR10_HOW_TO_FIX}")


def read_cifar10_npz(path):
    """Read and validate an .npz of the arrays ``keras.datasets.cifar10.load_data()`` returns."""
    path = Path(path)
    if path.is_dir():
        raise CIFAR10Error(
            f"CIFAR-10 file {path} is a directory, not an .npz file (a cifar-10-batches-py folder goes "
            f"in {CIFAR10_DIR_VAR}). {CIFAR10_HOW_TO_FIX}"
        )
    keys = ("x_train", "y_train", "x_test", "y_test")
    arrays = _npz_arrays(path, keys, CIFAR10Error, "CIFAR-10 file", CIFAR10_HOW_TO_FIX)
    for split in ("train", "test"):
        n = CIFAR10_SIZES[split]
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.shape != (n, 32, 32, 3) or images.dtype != np.uint8:
            raise CIFAR10Error(
                f"CIFAR-10 file {path}: x_{split} is {images.dtype}{list(images.shape)}, "
                f"expected uint8{[n, 32, 32, 3]}. {CIFAR10_HOW_TO_FIX}"
            )
        if labels.shape not in [(n,), (n, 1)] or labels.dtype.kind not in "iu":
            raise CIFAR10Error(
                f"CIFAR-10 file {path}: y_{split} is {labels.dtype}{list(labels.shape)}, "
                f"expected integers [{n}] or [{n}, 1]. {CIFAR10_HOW_TO_FIX}"
            )
        _check_labels(labels, f"CIFAR-10 file {path}: y_{split}")
    x_train, y_train, x_test, y_test = (arrays[key] for key in keys)
    return x_train, y_train.reshape(-1).astype(np.uint8), x_test, y_test.reshape(-1).astype(np.uint8)


def load_cifar10(path=None):
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``: float32 images (n, 32, 32, 3) holding
    pixel/255 (as torchvision's ToTensor scales them), int32 labels 0-9 (taught in notebook 11)."""
    x_train, y_train, x_test, y_test = cifar10_arrays(path)
    return (
        (x_train.astype(np.float32) / np.float32(255), y_train.astype(np.int32)),
        (x_test.astype(np.float32) / np.float32(255), y_test.astype(np.int32)),
    )


STAND_IN_MIX = 0.6  # an image holds up to this much of another class: above 0.5 that class outweighs its own
STAND_IN_NOISE = 0.05  # standard deviation of each pixel's noise
STAND_IN_GRID = 4  # each image has its own STAND_IN_GRID x STAND_IN_GRID patches of colour:
STAND_IN_PATCHES = 0.15  # up to this much each, what a network can memorise


def cifar10_stand_in(n_train, n_test, seed=0):
    """Generated data in CIFAR-10's shapes and scaling, for runs without CIFAR-10 (taught in notebook 11).

    Returns ``(x_train, y_train), (x_test, y_test)``: float32 images (n, 32, 32, 3) in [0, 1], int32
    labels 0-9, the classes balanced. Each class is a random colour with a smooth random pattern on it;
    an image is its class's pattern shifted by up to 4 pixels, mixed with another class's (up to
    ``STAND_IN_MIX`` of it), at a random contrast and brightness, plus its own patches of colour and
    pixel noise. Learnable, not perfectly (some images are mostly another class), and a network can
    learn the training images' own patches by heart. The same ``seed`` gives the same data.
    """
    rng = np.random.default_rng(seed)
    shifted = _shifted(_class_patterns(rng))
    return _stand_in_images(shifted, n_train, rng), _stand_in_images(shifted, n_test, rng)


def _class_patterns(rng, waves=4):
    """Ten colour patterns (10, 32, 32, 3): a colour, plus in each channel a sum of ``waves`` random plane
    waves of at most 2 cycles per image (periodic, so that a shifted pattern wraps around seamlessly)."""
    cycles = rng.integers(-2, 3, size=(2, 10, 3, waves, 1, 1))
    phases = rng.uniform(0, 2 * np.pi, size=(10, 3, waves, 1, 1))
    grid = np.arange(32) / 32
    angle = 2 * np.pi * (cycles[0] * grid[:, None] + cycles[1] * grid) + phases
    texture = np.cos(angle).sum(axis=2).transpose(0, 2, 3, 1) / waves
    colour = rng.uniform(0.2, 0.8, size=(10, 1, 1, 3))
    return (colour + 0.25 * texture).astype(np.float32)


def _shifted(patterns, most=4):
    """Each pattern shifted by up to ``most`` pixels down or up and right or left: (10, moves, 32, 32, 3)."""
    moves = range(-most, most + 1)
    return np.stack([np.roll(patterns, (dy, dx), axis=(1, 2)) for dy in moves for dx in moves], axis=1)


def _stand_in_images(shifted, n, rng):
    """``n`` images, each of its class's pattern and another's, at random shifts, contrast and brightness."""
    labels = rng.permutation(np.arange(n) % 10)
    others = (labels + rng.integers(1, 10, n)) % 10
    mix = rng.uniform(0, STAND_IN_MIX, (n, 1, 1, 1)).astype(np.float32)
    contrast = rng.uniform(0.6, 1.2, (n, 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.1, 0.1, (n, 1, 1, 1)).astype(np.float32)
    images = shifted[labels, rng.integers(0, shifted.shape[1], n)] * (contrast * (1 - mix))
    images += shifted[others, rng.integers(0, shifted.shape[1], n)] * (contrast * mix)
    images += 0.5 * (1 - contrast) + brightness  # the contrast is taken about mid-grey
    grid = STAND_IN_GRID
    patches = rng.uniform(-STAND_IN_PATCHES, STAND_IN_PATCHES, (n, grid, grid, 3)).astype(np.float32)
    images += patches.repeat(32 // grid, axis=1).repeat(32 // grid, axis=2)
    images += STAND_IN_NOISE * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0, 1, out=images), labels.astype(np.int32)
