"""Model builders: network3.py's layers (Nielsen, *Neural Networks and Deep Learning*, ch. 6) in Keras.

network3 initialises every FullyConnected and ConvPool weight from N(0, 1/n_out) (standard
deviation sqrt(1/n_out), where a ConvPool layer's n_out is filters·k²/pool area), every such bias
from N(0, 1), and the Softmax layer's weights and biases with zeros.  A ConvPool layer is a valid
convolution without bias, a max-pool, then the bias and the activation.  Dropout with probability p
is applied to a layer's *input*; network3 does not rescale during training and multiplies the input
by (1 - p) at inference, which is Keras' (inverted) ``Dropout`` followed by ``Rescaling(1 - p)``.

The Softmax layer outputs logits: the softmax itself is part of the loss (``from_logits=True``) and
the predicted class is the arg-max either way.

Where each piece is taught: every notebook writes the piece it first uses in plain Keras and checks
that it builds exactly what these builders build (layer classes, configurations, weight shapes and,
seeded alike, the initial weights): ``fully_connected``, ``softmax`` and ``network3`` in notebook 01,
``conv_pool`` and ``BiasActivation`` in 02, ``l2_factor`` in 03, dropout (``p_dropout``) in 05.
"""

import math

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)


def l2_factor(lmbda, batch_size, n_train):
    """Keras L2 coefficient that reproduces network3's weight decay (taught in notebook 03).

    network3 adds 0.5·λ·Σ‖W‖² / num_training_batches to the mean mini-batch cost, with
    num_training_batches = n_train / batch_size; Keras' ``L2(c)`` adds c·Σ‖W‖², so c = λ·m / (2n).
    """
    return 0.5 * lmbda * batch_size / n_train


def _normal(variance):
    return keras.initializers.RandomNormal(mean=0.0, stddev=math.sqrt(variance))


def _l2(coefficient):
    return keras.regularizers.L2(coefficient) if coefficient else None


def _input_dropout(p_dropout):
    """network3's dropout of a layer's input: ``Dropout``, then ``Rescaling(1 - p)`` (notebook 05)."""
    if not p_dropout:
        return []
    return [layers.Dropout(p_dropout), layers.Rescaling(1.0 - p_dropout)]


@keras.saving.register_keras_serializable(package="lib")
class BiasActivation(layers.Layer):
    """A per-channel bias, initialised from N(0, 1), followed by an activation: the end of network3's
    ConvPool layer, after the pool (taught in notebook 02)."""

    def __init__(self, activation="sigmoid", **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer=_normal(1.0), name="bias")

    def call(self, inputs):
        return self.activation(inputs + self.bias)

    def get_config(self):
        return {**super().get_config(), "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="lib")
class TheanoMaxPooling2D(layers.Layer):
    """Max-pooling over non-overlapping ``pool_size`` windows whose gradient follows Theano's
    ``max_pool_2d`` (``ignore_border=True``), which network3 uses: *every* input equal to its window's
    maximum receives the window's gradient. Keras' ``MaxPooling2D`` gives it to one of them only; the
    two differ only where a window holds tied maxima.

    Written with ``keras.ops`` alone, so it runs on every backend: the output is the window's maximum
    (held constant) plus ``Σ ties · (x − stop_gradient(x))``, which is zero in value and whose
    gradient with respect to ``x`` is 1 at every tied maximum and 0 elsewhere.
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size

    def call(self, inputs):
        p = self.pool_size
        rows, cols, channels = (inputs.shape[1] // p), (inputs.shape[2] // p), inputs.shape[3]
        x = inputs[:, : rows * p, : cols * p, :]  # ignore_border: a partial window is dropped
        windows = keras.ops.reshape(x, (-1, rows, p, cols, p, channels))
        peak = keras.ops.stop_gradient(keras.ops.max(windows, axis=(2, 4), keepdims=True))
        ties = keras.ops.stop_gradient(keras.ops.cast(keras.ops.equal(windows, peak), x.dtype))
        zero = keras.ops.sum(ties * (windows - keras.ops.stop_gradient(windows)), axis=(2, 4))
        return keras.ops.squeeze(peak, axis=(2, 4)) + zero

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, h // self.pool_size, w // self.pool_size, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


POOLS = {"keras": layers.MaxPooling2D, "theano": TheanoMaxPooling2D}


def conv_pool(filters, kernel_size=5, pool_size=2, activation="sigmoid", l2=0.0, pool="keras"):
    """network3's ConvPoolLayer: valid convolution, max-pool, then bias and activation (taught in
    notebook 02).

    ``pool``: ``"keras"`` (``MaxPooling2D``) or ``"theano"`` (``TheanoMaxPooling2D``), which differ
    only in the gradient at tied maxima.
    """
    if pool not in POOLS:
        raise ValueError(f"pool={pool!r}: use one of {', '.join(map(repr, POOLS))}")
    n_out = filters * kernel_size**2 / pool_size**2
    return [
        layers.Conv2D(
            filters,
            kernel_size,
            padding="valid",
            use_bias=False,
            kernel_initializer=_normal(1.0 / n_out),
            kernel_regularizer=_l2(l2),
        ),
        POOLS[pool](pool_size),
        BiasActivation(activation),
    ]


def fully_connected(units, activation="sigmoid", p_dropout=0.0, l2=0.0):
    """network3's FullyConnectedLayer (taught in notebook 01), with optional dropout on its input
    (notebook 05) and L2 on its weights (notebook 03)."""
    return [
        *_input_dropout(p_dropout),
        layers.Dense(
            units,
            activation=activation,
            kernel_initializer=_normal(1.0 / units),
            bias_initializer=_normal(1.0),
            kernel_regularizer=_l2(l2),
        ),
    ]


def softmax(units=10, p_dropout=0.0, l2=0.0):
    """network3's SoftmaxLayer (zero-initialised; outputs logits; taught in notebook 01), with optional
    input dropout (notebook 05)."""
    return [
        *_input_dropout(p_dropout),
        layers.Dense(
            units,
            kernel_initializer="zeros",
            bias_initializer="zeros",
            kernel_regularizer=_l2(l2),
            name="softmax_logits",
        ),
    ]


def network3(*blocks, name=None):
    """Stack network3 blocks (lists of layers) on a 28×28×1 image input.

    A ``Flatten`` is inserted before the first block that is not convolutional. Taught in notebook 01.
    """
    model = keras.Sequential([keras.Input(IMAGE_SHAPE)], name=name)
    spatial = True
    for block in blocks:
        if spatial and not isinstance(block[0], layers.Conv2D):
            model.add(layers.Flatten())
            spatial = False
        for layer in block:
            model.add(layer)
    return model
