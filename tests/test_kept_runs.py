"""The committed kept networks still load by their run key: a change to the key (``fingerprint``, the
settings ``fit`` hashes, ``NUMERICS``) would silently retrain every one of them."""

import os
import shutil

import keras
import pytest

from lib import data, models, training
from lib.paths import ROOT
from lib.system import set_seed


@pytest.fixture
def no_training(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("the committed run was not found by its key: it would train again")

    monkeypatch.setattr(keras.Model, "fit", refuse)


def test_notebook_01s_committed_run_loads_by_its_key(isolated_outputs, no_training, capsys):
    if not os.environ.get("MNIST_NPZ"):
        pytest.skip("needs MNIST (MNIST_NPZ), as CI has it")
    for kind, name in (("results", "fc-baseline.full.json"), ("models", "fc-baseline.full.weights.h5")):
        (isolated_outputs / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / kind / name, isolated_outputs / kind / name)
    train, validation, test = data.load_mnist()
    set_seed(0)
    model = models.network3(models.fully_connected(100, activation="sigmoid"), models.softmax(10), name="fc")
    result = training.network3_sgd(
        model,
        "fc-baseline",
        train=train,
        val=validation,
        test=test,
        epochs=60,
        eta=0.1,
        seed=0,
        profile="full",
    )
    assert result["test_accuracy"] == training.accuracy(model, *test)
    assert "Loaded fc-baseline (full)" in capsys.readouterr().out
