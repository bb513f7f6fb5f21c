"""The lecture's dense autoencoder: 784-128-64-36-18-9 and its mirror, trained to reproduce its input.

It is not a classifier, so it is trained here with plain ``model.fit`` on (image, same image) pairs
and reported by its mean squared reconstruction error, not by ``lib.training.fit``; a finished run
is kept and reused the same way (``lib.training.kept_run``).

The lecture built it in PyTorch and trained it with ``Adam(lr=0.1, weight_decay=1e-8)``:
``dense_autoencoder(init="pytorch", weight_decay=1e-8)`` rebuilds that set-up in Keras.
"""

import math
import time

import keras
import numpy as np
from keras import layers

from lib import system
from lib.profiles import get_profile
from lib.training import StepProgress, compile_model, data_digest, fingerprint, keep, kept_run

ENCODER_SIZES = (128, 64, 36, 18, 9)
INPUT_SIZE = 28 * 28


def _dense(units, fan_in, activation, init, weight_decay):
    """A dense layer initialised as Keras (Glorot-uniform, zero bias) or PyTorch's ``nn.Linear`` does.

    ``nn.Linear`` draws weights and biases from U(±1/√fan_in) (its ``kaiming_uniform_(a=√5)``); its
    Adam ``weight_decay`` adds ``weight_decay·p`` to every parameter's gradient, which is an L2 term of
    ``weight_decay/2`` on kernel and bias alike.
    """
    options = {}
    if init == "pytorch":
        bound = 1 / math.sqrt(fan_in)
        options = {
            "kernel_initializer": keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
        }
    if weight_decay:
        options["kernel_regularizer"] = keras.regularizers.L2(weight_decay / 2)
        options["bias_regularizer"] = keras.regularizers.L2(weight_decay / 2)
    return layers.Dense(units, activation=activation, **options)


def dense_autoencoder(sizes=ENCODER_SIZES, input_size=INPUT_SIZE, init="keras", weight_decay=0.0):
    """Encoder: ReLU layers of ``sizes`` with a linear code layer; decoder: the mirror, sigmoid output.

    ``init="pytorch"`` initialises every layer as PyTorch's ``nn.Linear`` (the lecture's model);
    ``weight_decay`` is PyTorch Adam's (coupled) weight decay, as L2 terms.
    """
    widths = [input_size, *sizes, *reversed(sizes[:-1]), input_size]
    activations = ["relu"] * (len(sizes) - 1) + [None] + ["relu"] * (len(sizes) - 1) + ["sigmoid"]
    dense = [
        _dense(units, fan_in, activation, init, weight_decay)
        for fan_in, units, activation in zip(widths[:-1], widths[1:], activations, strict=True)
    ]
    encoder = keras.Sequential([keras.Input((input_size,)), *dense[: len(sizes)]], name="encoder")
    decoder = keras.Sequential([keras.Input((sizes[-1],)), *dense[len(sizes) :]], name="decoder")
    return keras.Sequential([encoder, decoder], name="autoencoder")


def layer_sizes(model):
    """The width of every dense layer of an autoencoder, input first: 784, 128, ..., 9, ..., 784."""
    encoder, decoder = model.layers
    return [encoder.input.shape[-1]] + [layer.units for part in (encoder, decoder) for layer in part.layers]


def flat(images):
    """Images (n, 28, 28, 1) as rows (n, 784)."""
    return images.reshape(len(images), -1)


class _EpochLine(keras.callbacks.Callback):
    """One line per epoch: training and test reconstruction error and the epoch's time."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs, self.times = epochs, []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.started)
        print(
            f"Epoch {epoch + 1:>3}/{self.epochs} · loss (MSE) {logs['loss']:.4f} · "
            f"test MSE {logs['val_loss']:.4f} · {self.times[-1]:.1f} s",
            flush=True,
        )


def train_autoencoder(
    model, experiment, *, train, test, epochs, batch_size, learning_rate, seed, epsilon=1e-7, profile=None
):
    """Train ``model`` to reproduce ``train`` (rows of pixels) with Adam and the mean squared error.

    The training set is reshuffled every epoch (as the lecture's ``DataLoader(shuffle=True)``). Returns
    a result dict with the per-epoch training loss and test MSE, also written to
    ``results/<experiment>.<profile>.json``; the weights are kept, and in the full profile the same
    run is loaded instead of trained again. ``epsilon``: Adam's ε (Keras' default 1e-7, PyTorch's 1e-8).
    """
    profile = get_profile(profile)
    system.set_seed(seed)
    steps = int(np.ceil(len(train) / batch_size))
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, epsilon=epsilon)
    compile_model(model, optimizer, "mse", steps)
    settings = {
        "experiment": experiment,
        "profile": profile.name,
        "seed": seed,
        "n_train": len(train),
        "epochs": epochs,
        "batch_size": batch_size,
        "hyperparameters": {
            "optimizer": "Adam",
            "learning_rate": learning_rate,
            "epsilon": epsilon,
            "loss": "mse",
        },
    }
    key = fingerprint(model, optimizer, "mse", settings | {"data": data_digest((train,), (test,))})
    if profile.reuses_kept_runs():
        kept = kept_run(model, experiment, profile, key)
        if kept is not None:
            return kept
    print(
        f"Training {experiment} ({profile.name}): {len(train):,} images, {epochs} epochs, "
        f"batch {batch_size}, Adam {learning_rate}, on {system.device()}."
    )
    line = _EpochLine(epochs)
    history = model.fit(
        train,
        train,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        validation_data=(test, test),
        verbose=0,
        callbacks=[StepProgress(steps, epochs), line],
    ).history
    result = {
        **settings,
        "protocol": f"one run, seed {seed}",
        "epochs_run": len(history["loss"]),
        "epoch_loss": [float(v) for v in history["loss"]],
        "epoch_test_mse": [float(v) for v in history["val_loss"]],
        "test_mse": float(history["val_loss"][-1]),
        "epoch_time_s": line.times,
        "wall_time_s": sum(line.times),
        **system.provenance(),
        "run_key": key,
    }
    path = keep(model, result, profile)
    print(f"Test reconstruction MSE {result['test_mse']:.4f} after epoch {epochs}; saved {path.name}.")
    return result


def mean_image_mse(train, test):
    """The error of always answering the mean training image: what a collapsed autoencoder scores."""
    return float(np.mean((test - train.mean(axis=0)) ** 2))
