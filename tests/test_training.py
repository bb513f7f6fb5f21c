import json

import keras
import numpy as np
import pytest

from lib import models, training
from lib.paths import checkpoint_dir
from lib.system import set_seed


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.random((600, 28, 28, 1), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int32)
    return (x[:400], y[:400]), (x[400:500], y[400:500]), (x[500:], y[500:])


def run(tiny_data, experiment="unit-test", epochs=3, lr=0.1):
    train, val, test = tiny_data
    set_seed(0)
    model = models.network3(models.fully_connected(16), models.softmax(2))
    result = training.fit(
        model,
        experiment,
        train=train,
        val=val,
        test=test,
        epochs=epochs,
        batch_size=10,
        optimizer=keras.optimizers.SGD(lr),
        seed=0,
        profile="quick",
    )
    return model, result


def final_weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def test_result_json_records_the_run(tiny_data, isolated_outputs):
    model, result = run(tiny_data)
    stored = json.loads((isolated_outputs / ".quick" / "results" / "unit-test.quick.json").read_text())
    assert stored == result
    assert len(result["epoch_val_accuracy"]) == len(result["epoch_test_accuracy"]) == 3
    best = result["best_epoch"]
    assert result["test_accuracy"] == result["epoch_test_accuracy"][best - 1]
    assert result["epoch_val_accuracy"][best - 1] == max(result["epoch_val_accuracy"])
    assert {"wall_time_s", "backend", "device", "versions", "profile", "batch_size"} <= set(result)
    assert result["epoch_test_accuracy"][-1] == training.accuracy(model, *tiny_data[2])
    assert not checkpoint_dir("unit-test", "quick").exists()


def test_same_seed_gives_the_same_numbers(tiny_data):
    model_a, a = run(tiny_data)
    model_b, b = run(tiny_data)
    assert a["epoch_loss"] == b["epoch_loss"] and a["epoch_val_accuracy"] == b["epoch_val_accuracy"]
    for wa, wb in zip(final_weights(model_a), final_weights(model_b), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_interrupted_run_resumes_after_its_last_completed_epoch(tiny_data, monkeypatch, capsys):
    reference_model, reference = run(tiny_data)
    save = training.EpochEnd.save

    def save_then_interrupt(self):
        save(self)
        if len(self.history["epoch_loss"]) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(training.EpochEnd, "save", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data)
    assert "holds epoch 2 of 3" in capsys.readouterr().out
    monkeypatch.setattr(training.EpochEnd, "save", save)
    model, resumed = run(tiny_data)
    assert "Resuming unit-test (quick) after epoch 2 of 3" in capsys.readouterr().out
    assert resumed["epoch_loss"] == pytest.approx(reference["epoch_loss"], rel=1e-6)
    assert resumed["epoch_test_accuracy"] == reference["epoch_test_accuracy"]
    for wa, wb in zip(final_weights(model), final_weights(reference_model), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_checkpoint_of_other_settings_is_not_resumed(tiny_data, monkeypatch, capsys):
    def interrupt(self):
        raise KeyboardInterrupt

    save = training.EpochEnd.save
    monkeypatch.setattr(training.EpochEnd, "save", lambda self: (save(self), interrupt(self)))
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data, lr=0.1)
    monkeypatch.setattr(training.EpochEnd, "save", save)
    _, result = run(tiny_data, lr=0.05)
    assert "other settings" in capsys.readouterr().out
    assert len(result["epoch_loss"]) == 3


def test_measure_train_records_training_accuracy_and_shuffle_is_kept(tiny_data):
    train, val, test = tiny_data
    set_seed(0)
    model = models.network3(models.fully_connected(16), models.softmax(2))
    result = training.fit(
        model,
        "unit-test-train-accuracy",
        train=train,
        test=test,
        epochs=2,
        batch_size=10,
        optimizer=keras.optimizers.SGD(0.1),
        seed=0,
        profile="quick",
        shuffle=True,
        measure_train=True,
    )
    assert len(result["epoch_train_accuracy"]) == 2
    assert result["epoch_train_accuracy"][-1] == training.accuracy(model, *train)
    assert result["shuffle"] is True and result["measure_train"] is True
    _, plain = run(tiny_data, experiment="unit-test-plain", epochs=1)
    assert "epoch_train_accuracy" not in plain and "shuffle" not in plain
