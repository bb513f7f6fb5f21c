import keras
import pytest

from lib.mnist_cnn import adadelta_2017, mnist_cnn


def test_mnist_cnn_has_the_examples_1199882_parameters():
    model = mnist_cnn()
    assert model.count_params() == 1_199_882  # model.summary() of the Keras example
    per_layer = [layer.count_params() for layer in model.layers]
    assert per_layer == [320, 18_496, 0, 0, 0, 1_179_776, 0, 1_290]
    assert model.layers[-1].activation is keras.activations.softmax


def test_adadelta_as_in_2017():
    adadelta = adadelta_2017().get_config()
    assert (adadelta["learning_rate"], adadelta["rho"], adadelta["epsilon"]) == (1.0, 0.95, 1e-8)
    assert keras.optimizers.Adadelta().get_config()["learning_rate"] == pytest.approx(0.001)  # why we set it
