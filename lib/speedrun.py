"""The speedrun: the fastest path we found to ≥ 99 % MNIST test accuracy, timed from data in memory
to a trained model.

A recipe is a small batch-normalised convnet (conv 5×5 → BN → ReLU → 2×2 max-pool, twice, then a
linear layer) trained for a few epochs with Adam under a one-cycle learning rate (linear warm-up to
a peak, then linear decay to zero). Recipes are chosen on the validation split (the last 10,000
training images); the test set only measures the chosen one, trained on all 60,000 images.
"""

import time
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import layers

from lib import system, training
from lib.models import IMAGE_SHAPE

TARGET = 0.99


@dataclass(frozen=True)
class Recipe:
    """A network (the ``widths`` of its two conv blocks) and how it is trained."""

    name: str
    epochs: int
    peak_lr: float
    widths: tuple = (32, 64)
    batch_size: int = 128
    warmup: float = 0.25  # fraction of the steps spent rising to ``peak_lr``

    def describe(self):
        return (
            f"conv {'/'.join(map(str, self.widths))}, {self.epochs} epoch(s) of mini-batch "
            f"{self.batch_size}, Adam with a one-cycle peak of {self.peak_lr}"
        )


CANDIDATES = (  # from the cheapest to the dearest
    Recipe("1 epoch", epochs=1, peak_lr=0.01),
    Recipe("2 epochs", epochs=2, peak_lr=0.01),
    Recipe("3 epochs", epochs=3, peak_lr=0.005),
)


@keras.saving.register_keras_serializable(package="lib")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``peak / 25`` to ``peak`` over ``warmup`` of ``steps``, then linear decay to 0."""

    def __init__(self, peak, steps, warmup=0.25):
        self.peak, self.steps, self.warmup = peak, steps, warmup

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rise = max(1.0, self.warmup * self.steps)
        start = self.peak / 25
        up = start + (self.peak - start) * step / rise
        down = self.peak * (self.steps - step) / max(1.0, self.steps - rise)
        return keras.ops.maximum(keras.ops.where(step < rise, up, down), 0.0)

    def get_config(self):
        return {"peak": self.peak, "steps": self.steps, "warmup": self.warmup}


def conv_block(filters):
    """A 5×5 convolution with batch normalisation and ReLU, then a 2×2 max-pool."""
    return [
        layers.Conv2D(filters, 5, use_bias=False),
        layers.BatchNormalization(momentum=0.9),
        layers.ReLU(),
        layers.MaxPooling2D(2),
    ]


def speed_net(widths=(32, 64)):
    """One conv block per entry of ``widths``, flattened into a 10-way linear layer (logits)."""
    stack = [keras.Input(IMAGE_SHAPE)]
    for filters in widths:
        stack += conv_block(filters)
    return keras.Sequential([*stack, layers.Flatten(), layers.Dense(10)], name="speed_net")


def train(recipe, x, y, seed):
    """Build and train ``recipe`` on images ``x`` (N×28×28×1 floats) and labels ``y``.

    Returns the trained model and the seconds from building it to the end of training (model
    construction, compilation and tracing included).
    """
    system.set_seed(seed)
    started = time.perf_counter()
    model = speed_net(recipe.widths)
    steps_per_epoch = int(np.ceil(len(x) / recipe.batch_size))
    schedule = OneCycle(recipe.peak_lr, steps_per_epoch * recipe.epochs, recipe.warmup)
    training.compile_model(model, keras.optimizers.Adam(schedule), steps=steps_per_epoch)
    model.fit(x, y, batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True, verbose=0)
    return model, time.perf_counter() - started


def trial(recipe, train_set, eval_set, seed):
    """Train ``recipe`` with ``seed`` and measure it: a dict of accuracy and seconds."""
    model, seconds = train(recipe, *train_set, seed)
    return {
        "recipe": recipe.name,
        "seed": seed,
        "accuracy": training.accuracy(model, *eval_set),
        "seconds": seconds,
    }


def choose(trials, target=TARGET):
    """The recipe name of the first trial, in the order tried (cheapest first), whose (validation)
    accuracy reached ``target``, and whether one did; if none did, the most accurate trial's.

    Trials are ranked by their cost in epochs, not by the seconds measured, so that a busy machine
    cannot change the choice."""
    reached = [t for t in trials if t["accuracy"] >= target]
    if reached:
        return reached[0]["recipe"], True
    return max(trials, key=lambda t: t["accuracy"])["recipe"], False


def summarise(recipe, trials, profile, target=TARGET):
    """The result dict of the seeds' test ``trials`` (mean and spread), in the results-file layout."""
    accuracy = np.array([t["accuracy"] for t in trials])
    seconds = np.array([t["seconds"] for t in trials])
    return {
        "experiment": "speedrun",
        "profile": profile.name,
        "recipe": asdict(recipe),
        "protocol": f"mean of {len(trials)} seeds",
        "test_accuracy": float(accuracy.mean()),
        "test_accuracy_std": float(accuracy.std(ddof=1)) if len(trials) > 1 else 0.0,
        "seeds_reaching_target": int((accuracy >= target).sum()),
        "wall_time_s": float(seconds.mean()),
        "wall_time_std_s": float(seconds.std(ddof=1)) if len(trials) > 1 else 0.0,
        "epochs_run": recipe.epochs,
        "trials": trials,
        **system.provenance(),
    }
