"""Training as network3.py does it: plain SGD, mini-batches in fixed order, per-epoch validation and
test accuracy, the best-validation rule; plus resumable checkpoints and a results JSON per run.
"""

import hashlib
import json
import shutil
import time
from datetime import UTC, datetime

import keras
import numpy as np

from lib import distribute, system
from lib.paths import checkpoint_dir
from lib.profiles import get_profile
from lib.results import best_epoch, reported_test_accuracy, write_result

STEPS_PER_EXECUTION = 500  # optimizer steps per compiled call: few host round trips at batch 10
EVAL_BATCH_SIZE = 1000
WEIGHTS_FILE = "last_epoch.weights.h5"
STATE_FILE = "state.json"


def accuracy(model, x, y):
    """Fraction of ``x`` whose arg-max prediction equals the integer label ``y``."""
    scores = model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == y))


def jit_compile():
    """XLA for JAX and GPUs; plain graphs for TensorFlow on a CPU, where XLA measured slower here."""
    if system.backend() == "tensorflow" and not system.accelerators():
        return False
    return "auto"


def compile_model(model, optimizer, loss=None, steps=STEPS_PER_EXECUTION):
    """Compile for fast training: up to ``STEPS_PER_EXECUTION`` of an epoch's ``steps`` per call.

    One step per call where Keras cannot run more: on PyTorch, and under TensorFlow's
    ``MirroredStrategy`` (Keras 3.15 fails there with ``steps_per_execution`` > 1). The default loss
    is the mean cross-entropy of the model's logits.
    """
    one_per_call = system.backend() == "torch" or (
        system.backend() == "tensorflow" and distribute.replicas() > 1
    )
    per_call = 1 if one_per_call else max(1, min(STEPS_PER_EXECUTION, steps))
    model.compile(
        optimizer=optimizer,
        loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=per_call,
        jit_compile=jit_compile(),
    )


def fingerprint(model, optimizer, settings):
    """A hash of what decides a run's numbers, so that a checkpoint is resumed only by the same run."""
    layers = [(layer.__class__.__name__, [list(w.shape) for w in layer.weights]) for layer in model.layers]
    opt = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    blob = json.dumps({"layers": layers, "optimizer": opt, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class EpochEnd(keras.callbacks.Callback):
    """After each epoch: measure validation and test accuracy, print one line, save a checkpoint."""

    def __init__(self, history, val, test, epochs, directory, key, train=None):
        super().__init__()
        self.history, self.val, self.test, self.train = history, val, test, train
        self.epochs, self.directory, self.key = epochs, directory, key

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        h = self.history
        if self.val is not None:
            h["epoch_val_accuracy"].append(accuracy(self.model, *self.val))
        h["epoch_test_accuracy"].append(accuracy(self.model, *self.test))
        if self.train is not None:
            h["epoch_train_accuracy"].append(accuracy(self.model, *self.train))
        h["epoch_loss"].append(float(logs["loss"]))
        h["epoch_time_s"].append(time.perf_counter() - self.started)
        print(self.line(epoch + 1), flush=True)
        self.save()

    def line(self, epoch):
        h = self.history
        parts = [f"Epoch {epoch:>3}/{self.epochs}", f"loss {h['epoch_loss'][-1]:.4f}"]
        if self.train is not None:
            parts.append(f"train {100 * h['epoch_train_accuracy'][-1]:.2f}%")
        if self.val is not None:
            parts.append(f"validation {100 * h['epoch_val_accuracy'][-1]:.2f}%")
        parts.append(f"test {100 * h['epoch_test_accuracy'][-1]:.2f}%")
        parts.append(f"{h['epoch_time_s'][-1]:.1f} s")
        if self.val is not None and best_epoch(h["epoch_val_accuracy"]) == epoch:
            parts.append("best validation so far")
        return " · ".join(parts)

    def save(self):
        """Write weights and history atomically: a crash mid-save keeps the previous epoch."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp_weights = self.directory / f"tmp.{WEIGHTS_FILE}"
        self.model.save_weights(tmp_weights)
        tmp_state = self.directory / f"tmp.{STATE_FILE}"
        tmp_state.write_text(json.dumps({"key": self.key, "history": self.history}))
        tmp_weights.replace(self.directory / WEIGHTS_FILE)
        tmp_state.replace(self.directory / STATE_FILE)


def _resume(model, directory, key):
    """Load the last completed epoch of the same run, if one was saved; return its history."""
    state_file, weights_file = directory / STATE_FILE, directory / WEIGHTS_FILE
    if not (state_file.exists() and weights_file.exists()):
        return None
    state = json.loads(state_file.read_text())
    if state.get("key") != key:
        print(f"Ignoring checkpoint in {directory}: it belongs to a run with other settings.")
        return None
    model.optimizer.build(model.trainable_variables)
    model.load_weights(weights_file)
    return state["history"]


def fit(
    model,
    experiment,
    *,
    train,
    test,
    val=None,
    epochs,
    batch_size,
    optimizer,
    seed,
    profile=None,
    loss=None,
    hyperparameters=None,
    shuffle=False,
    measure_train=False,
):
    """Train ``model`` on ``train`` in fixed mini-batch order and return the run's result dict.

    ``train``, ``val`` and ``test`` are ``(x, y)`` pairs with integer labels; ``val`` may be
    ``None`` (the reported accuracy is then the last epoch's). The default loss is the mean
    cross-entropy of the model's logits; L2 terms come from the layers' regularizers. An
    interrupted run resumes from its last completed epoch when called again with the same settings.
    The result is also written to ``results/<experiment>.<profile>.json``.

    ``shuffle=True`` reshuffles the training set every epoch (Keras' default, as the Keras examples
    train); ``measure_train=True`` also records the training-set accuracy after every epoch
    (``epoch_train_accuracy``, measured with dropout off, as the Theano tutorial plots it).
    """
    profile = get_profile(profile)
    x, y = train
    val, test = profile.evaluation_set(val), profile.evaluation_set(test)
    steps = int(np.ceil(len(x) / batch_size))
    distribute.check_batch_size(batch_size)
    compile_model(model, optimizer, loss, steps)
    settings = {
        "experiment": experiment,
        "profile": profile.name,
        "seed": seed,
        "n_train": len(x),
        "n_test": len(test[0]),
        "epochs": epochs,
        "batch_size": batch_size,
        "hyperparameters": hyperparameters or {},
    }
    if shuffle:
        settings["shuffle"] = True
    if measure_train:
        settings["measure_train"] = True
    key = fingerprint(model, optimizer, settings)
    directory = checkpoint_dir(experiment, profile)
    history = _resume(model, directory, key)
    if history is None:
        history = {k: [] for k in ("epoch_val_accuracy", "epoch_test_accuracy", "epoch_loss", "epoch_time_s")}
        if measure_train:
            history["epoch_train_accuracy"] = []
    done = len(history["epoch_test_accuracy"])
    if done:
        print(f"Resuming {experiment} ({profile.name}) after epoch {done} of {epochs}.")
    print(
        f"Training {experiment} ({profile.name}): {len(x):,} images, {epochs} epochs, "
        f"batch {batch_size}, {steps:,} steps per epoch, on {system.device()}"
        + (f", data-parallel over {distribute.replicas()} devices." if distribute.replicas() > 1 else ".")
    )
    callback = EpochEnd(history, val, test, epochs, directory, key, train=train if measure_train else None)
    try:
        model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=done,
            shuffle=shuffle,
            verbose=0,
            callbacks=[callback],
        )
    except KeyboardInterrupt:
        saved = len(history["epoch_test_accuracy"])
        print(f"Interrupted after epoch {saved}: run again to resume from there.")
        raise
    epoch, test_acc = reported_test_accuracy(history["epoch_val_accuracy"], history["epoch_test_accuracy"])
    result = {
        **settings,
        "protocol": f"one run, seed {seed}",
        "epochs_run": len(history["epoch_test_accuracy"]),
        "best_epoch": epoch,
        "test_accuracy": test_acc,
        "best_val_accuracy": max(history["epoch_val_accuracy"]) if val is not None else None,
        **history,
        "wall_time_s": sum(history["epoch_time_s"]),
        "backend": system.backend(),
        "device": system.device(),
        "versions": system.versions(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = write_result(result)
    shutil.rmtree(directory, ignore_errors=True)
    rule = "at the best validation epoch" if val is not None else "after the last epoch"
    print(f"Test accuracy {100 * test_acc:.2f}% {rule} ({epoch}); saved {path.name}.")
    return result


def network3_sgd(model, experiment, *, train, val, test, epochs, eta, seed, lmbda=0.0, profile=None):
    """network3's ``Network.SGD``: plain SGD with learning rate ``eta`` on mini-batches of 10.

    ``lmbda`` is recorded with the run; its L2 terms live in the layers (``models.l2_factor``).
    """
    return fit(
        model,
        experiment,
        train=train,
        val=val,
        test=test,
        epochs=epochs,
        batch_size=10,
        optimizer=keras.optimizers.SGD(learning_rate=eta),
        seed=seed,
        profile=profile,
        hyperparameters={"eta": eta, "lmbda": lmbda},
    )
