import json

import keras
import numpy as np

from lib import autoencoder
from lib.results import result_path


def test_layer_sizes_are_the_lectures_funnel_and_its_mirror():
    model = autoencoder.dense_autoencoder()
    assert autoencoder.layer_sizes(model) == [784, 128, 64, 36, 18, 9, 18, 36, 64, 128, 784]
    encoder, decoder = model.layers
    assert encoder.layers[-1].activation is keras.activations.linear
    assert all(layer.activation is keras.activations.relu for layer in encoder.layers[:-1])
    assert decoder.layers[-1].activation is keras.activations.sigmoid


def test_outputs_are_pixels_in_0_1():
    rng = np.random.default_rng(0)
    out = autoencoder.dense_autoencoder()(rng.normal(0, 5, (4, 784)).astype("float32"))
    out = keras.ops.convert_to_numpy(out)
    assert out.shape == (4, 784) and out.min() >= 0 and out.max() <= 1


def test_mean_image_mse():
    train = np.array([[0.0, 1.0], [1.0, 1.0]])
    test = np.array([[0.5, 0.0]])
    assert autoencoder.mean_image_mse(train, test) == 0.5


def test_train_autoencoder_reports_and_writes_the_loss(isolated_outputs):
    rng = np.random.default_rng(0)
    images = rng.random((64, 28, 28, 1)).astype("float32")
    data = autoencoder.flat(images)
    result = autoencoder.train_autoencoder(
        autoencoder.dense_autoencoder(),
        "ae-unit-test",
        train=data[:48],
        test=data[48:],
        epochs=2,
        batch_size=16,
        learning_rate=0.001,
        seed=0,
        profile="quick",
    )
    assert len(result["epoch_loss"]) == len(result["epoch_test_mse"]) == 2
    assert result["test_mse"] == result["epoch_test_mse"][-1] > 0
    saved = json.loads(result_path("ae-unit-test", "quick").read_text())
    assert saved["test_mse"] == result["test_mse"] and saved["n_train"] == 48


def test_pytorch_init_draws_weights_and_biases_from_plus_minus_one_over_root_fan_in():
    model = autoencoder.dense_autoencoder(init="pytorch", weight_decay=1e-8)
    encoder, decoder = model.layers
    for layer in [*encoder.layers, *decoder.layers]:
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in (layer.kernel, layer.bias))
        bound = 1 / np.sqrt(kernel.shape[0])
        assert np.abs(kernel).max() <= bound and np.abs(kernel).max() > 0.9 * bound
        assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0
        assert layer.kernel_regularizer.get_config()["l2"] == layer.bias_regularizer.get_config()["l2"]
        assert layer.kernel_regularizer.get_config()["l2"] == np.float32(0.5e-8)


def test_keras_init_has_zero_biases_and_no_weight_decay():
    for layer in autoencoder.dense_autoencoder().layers[0].layers:
        assert not keras.ops.convert_to_numpy(layer.bias).any() and layer.kernel_regularizer is None


def test_a_finished_autoencoder_run_is_kept_and_loaded_in_the_full_profile(isolated_outputs, monkeypatch):
    data = autoencoder.flat(np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32"))
    calls, fit = [], keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: calls.append(1) or fit(self, *a, **k))

    def train():
        return autoencoder.train_autoencoder(
            autoencoder.dense_autoencoder(init="pytorch"),
            "ae-unit-test",
            train=data[:48],
            test=data[48:],
            epochs=1,
            batch_size=16,
            learning_rate=0.1,
            epsilon=1e-8,
            seed=0,
            profile="full",
        )

    first = train()
    assert train() == first and len(calls) == 1
    assert first["hyperparameters"]["epsilon"] == 1e-8
    assert (isolated_outputs / "models" / "ae-unit-test.full.weights.h5").exists()
