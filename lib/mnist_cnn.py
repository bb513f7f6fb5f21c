"""The Keras ``mnist_cnn`` example the lecture trained, taught in notebook 06.

Defined here, once, because notebook 07 looks into the network that 06 trains (it loads 06's kept
weights into the same layers, or trains a one-epoch copy).
"""

import keras
from keras import layers

from lib.models import IMAGE_SHAPE


def mnist_cnn(num_classes=10):
    """Two 3×3 ReLU convolutions, max-pool, dropout, dense 128, dropout, softmax; Keras' default
    initialisers (Glorot-uniform weights, zero biases), as the example leaves them."""
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


def adadelta_2017():
    """Adadelta as Keras 2.0–2.1.2 defaulted to it in 2017: learning rate 1.0, ρ 0.95, ε 1e-8.

    Keras 3's defaults are learning rate 0.001 and ε 1e-7 (Keras 2.1.3 moved ε to 1e-7).
    """
    return keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-8)
