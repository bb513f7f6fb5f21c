"""``lib.training.train_autoencoder``; the autoencoder itself is built and checked in notebook 09."""

import json

import keras
import numpy as np
import pytest

from lib import training
from lib.results import result_path


def small_autoencoder():
    return keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(9), keras.layers.Dense(784, activation="sigmoid")]
    )


def rows(n):
    return np.random.default_rng(0).random((n, 784)).astype("float32")


def train(model, data, n_test, profile, **settings):
    """``train_autoencoder`` on ``data``, its last ``n_test`` rows as the test set, seed 0, batch 16."""
    settings = {"epochs": 1, "learning_rate": 0.1, "epsilon": 1e-8} | settings
    return training.train_autoencoder(
        model,
        "ae-unit-test",
        train=data[:-n_test],
        test=data[-n_test:],
        batch_size=16,
        seed=0,
        profile=profile,
        **settings,
    )


def test_train_autoencoder_reports_and_writes_the_loss(isolated_outputs):
    data = rows(64)
    result = train(small_autoencoder(), data, 16, "quick", epochs=2, learning_rate=0.001, epsilon=1e-7)
    assert len(result["epoch_loss"]) == len(result["epoch_test_mse"]) == 2
    assert result["test_mse"] == result["epoch_test_mse"][-1] > 0
    saved = json.loads(result_path("ae-unit-test", "quick").read_text())
    assert saved["test_mse"] == result["test_mse"] and saved["n_train"] == 48


def test_a_finished_autoencoder_run_is_kept_and_loaded_in_the_full_profile(isolated_outputs, monkeypatch):
    data = rows(64)
    calls, fit = [], keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: calls.append(1) or fit(self, *a, **k))

    first = train(small_autoencoder(), data, 16, "full")
    assert train(small_autoencoder(), data, 16, "full") == first and len(calls) == 1
    assert first["hyperparameters"]["epsilon"] == 1e-8
    assert (isolated_outputs / "models" / "ae-unit-test.full.weights.h5").exists()


def test_the_lecture_adam_settings_reach_the_optimizer(isolated_outputs):
    """Notebook 09's lecture set-up passes PyTorch's Adam: learning rate 0.1 and ε 1e-8 (Keras': 1e-7)."""
    data, model = rows(32), small_autoencoder()
    train(model, data, 16, "quick")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    adam = model.optimizer.get_config()
    assert adam["learning_rate"] == pytest.approx(0.1) and adam["epsilon"] == 1e-8
    assert keras.optimizers.Adam().get_config()["epsilon"] == 1e-7  # why 09 passes it
