import math
import pathlib

import keras
import numpy as np
import pytest

from lib import models
from lib.system import set_seed


def weights(layer, index=0):
    return keras.ops.convert_to_numpy(layer.weights[index])


def test_l2_factor_for_network3_defaults():
    assert models.l2_factor(0.1, 10, 50_000) == pytest.approx(1e-5)
    assert models.l2_factor(0.1, 10, 250_000) == pytest.approx(2e-6)


def test_regularization_loss_equals_network3_cost_term():
    lmbda, batch, n = 0.1, 10, 50_000
    l2 = models.l2_factor(lmbda, batch, n)
    model = models.network3(
        models.conv_pool(20, activation="relu", l2=l2),
        models.fully_connected(100, activation="relu", l2=l2),
        models.softmax(10, l2=l2),
    )
    model.layers[-1].kernel.assign(np.full((100, 10), 0.01, np.float32))  # softmax starts at zero
    kernels = [v for v in model.trainable_weights if "kernel" in v.path]
    assert len(kernels) == 3  # conv, FC and softmax weights; biases are not decayed
    squares = sum(float(np.sum(keras.ops.convert_to_numpy(k) ** 2)) for k in kernels)
    network3_term = 0.5 * lmbda * squares / (n / batch)
    keras_term = float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses))
    assert keras_term == pytest.approx(network3_term, rel=1e-5)


def test_initialisation_statistics_follow_network3():
    set_seed(0)
    model = models.network3(
        models.conv_pool(20), models.conv_pool(40), models.fully_connected(100), models.softmax(10)
    )
    conv1, _, bias1, conv2, _, bias2, _, fc, softmax = model.layers
    assert weights(conv1).std() == pytest.approx(math.sqrt(1 / (20 * 25 / 4)), rel=0.1)
    assert weights(conv2).std() == pytest.approx(math.sqrt(1 / (40 * 25 / 4)), rel=0.05)
    assert weights(fc).std() == pytest.approx(math.sqrt(1 / 100), rel=0.05)
    assert weights(fc, 1).std() == pytest.approx(1.0, rel=0.25)
    bias_values = np.concatenate([weights(bias1), weights(bias2), weights(fc, 1)])
    assert abs(bias_values.mean()) < 0.3 and bias_values.std() == pytest.approx(1.0, rel=0.2)
    assert not weights(softmax).any() and not weights(softmax, 1).any()
    assert not conv1.use_bias and fc.input.shape[-1] == 40 * 4 * 4


def test_conv_pool_adds_bias_after_pooling():
    model = models.network3(models.conv_pool(2, kernel_size=1, activation="linear"))
    conv, pool, bias = model.layers
    conv.kernel.assign(np.ones((1, 1, 1, 2), np.float32))
    bias.bias.assign(np.array([10.0, -10.0], np.float32))
    image = np.arange(28 * 28, dtype=np.float32).reshape(1, 28, 28, 1)
    out = keras.ops.convert_to_numpy(model(image))
    assert out.shape == (1, 14, 14, 2)
    assert out[0, 0, 0, 0] == 29 + 10 and out[0, 0, 0, 1] == 29 - 10  # max of the top-left 2×2, + bias


def test_dropout_drops_inputs_without_rescaling_and_scales_at_inference():
    model = models.network3(models.softmax(10, p_dropout=0.5))
    dense = model.layers[-1]
    dense.kernel.assign(np.ones((784, 10), np.float32))
    x = np.ones((1, 28, 28, 1), np.float32)
    inference = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(inference, 0.5 * 784)
    training = keras.ops.convert_to_numpy(model(x, training=True))
    kept = training[0, 0]
    assert kept == int(kept) and 250 < kept < 530  # a count of kept pixels, each weighted 1, not 2


def input_gradient(layer, x, upstream):
    """The gradient of Σ upstream · layer(x) with respect to ``x``, on the current backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(layer(x) * upstream)
        return tape.gradient(total, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: (layer(v) * upstream).sum())(x))
    import torch

    v = torch.tensor(x, requires_grad=True)
    (layer(v) * torch.tensor(upstream)).sum().backward()
    return v.grad.numpy()


def theano_pool_gradient(x, upstream, p=2):
    """Theano's max_pool_2d gradient, written out: each window's gradient goes to every input equal to
    the window's maximum (a partial window at the border is ignored)."""
    expected = np.zeros_like(x)
    for b, i, j, c in np.ndindex(upstream.shape):
        window = x[b, i * p : (i + 1) * p, j * p : (j + 1) * p, c]
        expected[b, i * p : (i + 1) * p, j * p : (j + 1) * p, c] = (window == window.max()) * upstream[
            b, i, j, c
        ]
    return expected


def test_theano_max_pool_gives_the_gradient_to_every_tied_maximum():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(2, 4, 5, 3)).astype(np.float32)  # small integers: many ties
    upstream = rng.normal(size=(2, 2, 2, 3)).astype(np.float32)
    ours, keras_pool = models.TheanoMaxPooling2D(2), keras.layers.MaxPooling2D(2)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(keras_pool(x))
    )
    windows = x[:, :4, :4].reshape(2, 2, 2, 2, 2, 3)
    tied = (windows == windows.max(axis=(2, 4), keepdims=True)).sum(axis=(2, 4)) > 1
    assert tied.sum() >= 5, "the input must hold windows with tied maxima"
    gradient = input_gradient(ours, x, upstream)
    np.testing.assert_allclose(gradient, theano_pool_gradient(x, upstream), rtol=1e-6)
    assert not np.allclose(gradient, input_gradient(keras_pool, x, upstream)), "Keras' rule differs at ties"


def test_theano_max_pool_without_ties_equals_keras_max_pooling():
    rng = np.random.default_rng(1)
    x = rng.random((2, 6, 6, 4)).astype(np.float32)  # distinct values: no ties
    upstream = rng.normal(size=(2, 3, 3, 4)).astype(np.float32)
    ours, keras_pool = models.TheanoMaxPooling2D(2), keras.layers.MaxPooling2D(2)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(keras_pool(x))
    )
    np.testing.assert_array_equal(input_gradient(ours, x, upstream), input_gradient(keras_pool, x, upstream))


def test_conv_pool_builds_the_same_weights_with_either_pool():
    shapes = {}
    for pool in models.POOLS:
        net = models.network3(
            models.conv_pool(20, pool=pool), models.conv_pool(40, pool=pool), models.softmax(10)
        )
        shapes[pool] = [tuple(w.shape) for w in net.weights]
    assert shapes["keras"] == shapes["theano"]


def test_conv_pool_names_the_pools_it_knows():
    with pytest.raises(ValueError, match="pool='thean': use one of 'keras', 'theano'"):
        models.conv_pool(20, pool="thean")


def test_every_kept_weights_file_holds_the_model_alone():
    """A kept run is loaded to predict or to look into: its file has no optimizer state (issue 21)."""
    import h5py

    kept = sorted((pathlib.Path(__file__).resolve().parent.parent / "models").glob("*.weights.h5"))
    assert kept, "models/ holds the kept networks"
    with_optimizer = []
    for path in kept:
        with h5py.File(path) as stored:
            if "optimizer" in stored:
                with_optimizer.append(path.name)
    assert not with_optimizer, f"kept files with optimizer state: {with_optimizer}"
