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
