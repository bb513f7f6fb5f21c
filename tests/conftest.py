import os

import numpy as np
import pytest

from lib import paths


@pytest.fixture(autouse=True)
def restored_environment():
    """``python -m lab run`` sets variables for its kernels (profile, backend, retraining): undo them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    """Send every figure, result and checkpoint a test writes into its own temporary folder, as the
    main job would write them."""
    monkeypatch.setattr(paths, "ROOT", tmp_path / "repo")
    monkeypatch.setattr(paths, "QUICK_ROOT", tmp_path / "repo" / ".quick")
    monkeypatch.setenv(paths.MAIN_JOB_VAR, "1")  # as python -m lab run; tests of Jupyter kernels unset it
    return tmp_path / "repo"


def synthetic_mnist(n_train=60_000, n_test=10_000):
    """Arrays in the Keras mnist.npz layout whose pixel [0, 0] and label encode the image's index."""
    x_train = np.zeros((n_train, 28, 28), np.uint8)
    x_train[:, 0, 0] = np.arange(n_train) % 251
    x_test = np.full((n_test, 28, 28), 255, np.uint8)
    return {
        "x_train": x_train,
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": x_test,
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


@pytest.fixture
def mnist_file(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, **synthetic_mnist())
    return path
