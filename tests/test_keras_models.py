import keras
import pytest

from lib import keras_models


def test_mnist_cnn_has_the_examples_1199882_parameters():
    model = keras_models.mnist_cnn()
    assert model.count_params() == keras_models.MNIST_CNN_PARAMETERS == 1_199_882
    per_layer = [layer.count_params() for layer in model.layers]
    assert per_layer == [320, 18_496, 0, 0, 0, 1_179_776, 0, 1_290]
    assert model.layers[-1].activation is keras.activations.softmax


def test_theano_convnet_pools_round_up():
    model = keras_models.theano_convnet()
    shapes = [shape for name, shape in keras_models.layer_shapes(model) if name != "Dropout"]
    assert shapes == [
        (32, 32, 1),  # 'full' border: pad by 2
        (30, 30, 32),
        (15, 15, 32),
        (13, 13, 64),
        (7, 7, 64),  # 13 / 2 rounded up: Theano's ignore_border=False
        (5, 5, 128),
        (3, 3, 128),
        (1152,),  # the tutorial's w4 is 128·3·3 × 625
        (625,),
        (10,),
    ]
    assert model.count_params() == 288 + 18_432 + 73_728 + 1152 * 625 + 625 * 10


def test_theano_models_have_no_biases_and_small_weights():
    for build in (keras_models.theano_mlp, keras_models.theano_modern_net, keras_models.theano_convnet):
        model = build()
        assert all("bias" not in w.path for w in model.weights), build.__name__
        kernels = [keras.ops.convert_to_numpy(w) for w in model.weights]
        assert all(0.005 < k.std() < 0.015 for k in kernels if k.size > 100), build.__name__


def test_theano_mlp_and_modern_net_shapes():
    mlp = keras_models.theano_mlp()
    assert [s for _, s in keras_models.layer_shapes(mlp)] == [(784,), (625,), (10,)]
    assert mlp.count_params() == 784 * 625 + 625 * 10
    modern = keras_models.theano_modern_net()
    rates = [layer.rate for layer in modern.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2, 0.5, 0.5]


def test_the_lecture_optimizers():
    adadelta = keras_models.adadelta_as_in_the_example().get_config()
    assert (adadelta["learning_rate"], adadelta["rho"], adadelta["epsilon"]) == (1.0, 0.95, 1e-8)
    assert keras.optimizers.Adadelta().get_config()["learning_rate"] == pytest.approx(0.001)  # why we set it
    rmsprop = keras_models.rmsprop_as_in_the_tutorial().get_config()
    assert (rmsprop["learning_rate"], rmsprop["rho"], rmsprop["epsilon"]) == pytest.approx((0.001, 0.9, 1e-6))
