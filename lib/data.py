"""MNIST, loaded offline first, in the split and scaling that network3.py uses.

Where each piece is taught: the official arrays (``mnist_arrays``) in notebook 00, network3's split
and scaling (``load_mnist``) in notebook 01, the Keras examples' (``load_mnist_60k``) in notebooks 00
and 07, the expanded training set (``shifted_copies``, ``expand``) in notebook 04.
"""

import os
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


class MNISTError(RuntimeError):
    """MNIST could not be found or read; the message says which file and how to fix it."""


def mnist_arrays(path=None):
    """Return the official MNIST arrays ``x_train, y_train, x_test, y_test`` (uint8), validated.

    Sources, in order: ``path``; the file named by ``$MNIST_NPZ``; the Keras cache
    (``~/.keras/datasets/mnist.npz``); a Keras download into that cache.
    """
    path = path or os.environ.get(ENV_VAR)
    if not path:
        path = _keras_cached_or_downloaded()
    return read_npz(path)


def _keras_cached_or_downloaded():
    from keras.utils import get_file

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # urllib, under get_file, has no timeout of its own
    try:
        return get_file("mnist.npz", origin=KERAS_ORIGIN, file_hash=KERAS_SHA256)
    except Exception as error:
        raise MNISTError(
            f"MNIST is not in the Keras cache and could not be downloaded from {KERAS_ORIGIN} "
            f"({type(error).__name__}: {error}; {DOWNLOAD_TIMEOUT_S} s without an answer fails). {HOW_TO_FIX}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


def read_npz(path):
    """Read and validate a Keras-layout ``mnist.npz``; raise ``MNISTError`` if it is unusable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise MNISTError(f"MNIST file {path} is a directory, not an .npz file. {HOW_TO_FIX}")
    if not path.is_file():
        raise MNISTError(f"MNIST file {path} does not exist. {HOW_TO_FIX}")
    unreadable = f"MNIST file {path} is not a readable .npz (truncated or corrupt?)"
    if not zipfile.is_zipfile(path):
        raise MNISTError(f"{unreadable}: not a zip archive. {HOW_TO_FIX}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(set(EXPECTED) - set(npz.files))
            if missing:
                raise MNISTError(f"MNIST file {path} lacks the arrays {missing}. {HOW_TO_FIX}")
            arrays = {key: npz[key] for key in EXPECTED}
    except MNISTError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise MNISTError(f"{unreadable}: {type(error).__name__}: {reason}. {HOW_TO_FIX}") from None
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
