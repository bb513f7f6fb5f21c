"""Models of the Keras examples and of Radford's Theano tutorial, in Keras 3 layers.

``mnist_cnn`` is the Keras ``mnist_cnn.py`` example the lecture trained (Keras' default
initialisers: Glorot-uniform weights, zero biases). The three ``theano_*`` builders follow Alec
Radford's Theano tutorial: weights from N(0, 0.01²) and no biases at all, dropout as written there
(inverted dropout, i.e. Keras' ``Dropout``). All of them end in a softmax, so train them with
``keras.losses.SparseCategoricalCrossentropy()`` (not ``from_logits``).
"""

import keras
from keras import layers

from lib.models import IMAGE_SHAPE

MNIST_CNN_PARAMETERS = 1_199_882  # model.summary() of the Keras example


def mnist_cnn(num_classes=10):
    """The Keras ``mnist_cnn`` example: two 3×3 ReLU convolutions, max-pool, dropout, dense 128."""
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Conv2D(32, 3, activation="relu", name="conv2d_1"),
            layers.Conv2D(64, 3, activation="relu", name="conv2d_2"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="mnist_cnn",
    )


def adadelta_as_in_the_example():
    """Adadelta as Keras 2.0–2.1.2 defaulted to it in 2017: learning rate 1.0, ρ 0.95, ε 1e-8.

    Keras 3's defaults are learning rate 0.001 and ε 1e-7 (Keras 2.1.3 moved ε to 1e-7).
    """
    return keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-8)


def _theano_dense(units, activation):
    """A dense layer as the tutorial's ``T.dot(X, w)``: no bias, weights from N(0, 0.01²)."""
    init = keras.initializers.RandomNormal(stddev=0.01)
    return layers.Dense(units, activation=activation, use_bias=False, kernel_initializer=init)


def _theano_conv(filters):
    init = keras.initializers.RandomNormal(stddev=0.01)
    return layers.Conv2D(filters, 3, activation="relu", use_bias=False, kernel_initializer=init)


def theano_mlp(hidden=625):
    """Tutorial model 3: 784-625 sigmoid, softmax output (trained with SGD 0.05)."""
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Flatten(),
            _theano_dense(hidden, "sigmoid"),
            _theano_dense(10, "softmax"),
        ],
        name="theano_mlp",
    )


def theano_modern_net(hidden=625, p_input=0.2, p_hidden=0.5):
    """Tutorial model 4: dropout on the input, two ReLU layers of 625 each followed by dropout."""
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Flatten(),
            layers.Dropout(p_input),
            _theano_dense(hidden, "relu"),
            layers.Dropout(p_hidden),
            _theano_dense(hidden, "relu"),
            layers.Dropout(p_hidden),
            _theano_dense(10, "softmax"),
        ],
        name="theano_modern_net",
    )


def theano_convnet(p_conv=0.2, p_hidden=0.5):
    """Tutorial model 5: conv 32/64/128 3×3 ReLU, each followed by a 2×2 max-pool that rounds up.

    The first convolution is Theano's ``border_mode='full'`` (zero padding of 2, so 28 → 30); the
    others are valid. Theano's ``max_pool_2d`` with ``ignore_border=False`` keeps the odd last
    row and column, which is Keras' ``padding="same"`` pooling: 30 → 15, 13 → 7, 5 → 3. The 3×3×128
    maps are flattened into a ReLU layer of 625 and the softmax.
    """
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.ZeroPadding2D(2),
            _theano_conv(32),
            layers.MaxPooling2D(2, padding="same"),
            layers.Dropout(p_conv),
            _theano_conv(64),
            layers.MaxPooling2D(2, padding="same"),
            layers.Dropout(p_conv),
            _theano_conv(128),
            layers.MaxPooling2D(2, padding="same"),
            layers.Flatten(),
            layers.Dropout(p_conv),
            _theano_dense(625, "relu"),
            layers.Dropout(p_hidden),
            _theano_dense(10, "softmax"),
        ],
        name="theano_convnet",
    )


def rmsprop_as_in_the_tutorial():
    """The tutorial's RMSprop: learning rate 0.001, ρ 0.9, ε 1e-6."""
    return keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-6)


def layer_shapes(model):
    """``(class name, output shape without the batch axis)`` for every layer of ``model``."""
    return [(layer.__class__.__name__, tuple(layer.output.shape[1:])) for layer in model.layers]
