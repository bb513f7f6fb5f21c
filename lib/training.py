"""Training as network3.py does it: plain SGD, mini-batches in fixed order, per-epoch validation and
test accuracy, the best-validation rule; plus resumable checkpoints, a results JSON per run and the
kept weights of every finished run. ``train_autoencoder`` (notebook 09) keeps its runs the same way.

Two runs are *the same run* when they share the run key (``fingerprint``): the layers (class, config
without the layer's name, weight shapes), the optimizer's and the loss's configs, the experiment,
profile, seed, epochs, batch size, hyperparameters and shuffling, a digest of the training,
validation and test arrays, and ``NUMERICS``. The backend and the device are not part of it: weights
trained on one load on any other, and the result says where they were trained.

A run is looked up by its key wherever it is kept (``lib.paths.kept_files``): the committed run and,
in a kernel run by hand, every variant of it trained there. A cell whose run matches none of them
says, before it trains, what differs from the kept run and how long the training will take; in
Jupyter an interrupted training ends the cell with one line (``TrainingInterrupted``), no traceback.
"""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from datetime import datetime

import keras
import numpy as np

from lib import distribute, system
from lib.experiments import EXPERIMENTS, run_name
from lib.paths import (
    checkpoint_dir,
    keeps_variants,
    kept_files,
    output_dir,
    output_root,
    relative,
    trained_weights_path,
    variant_stem,
    weights_beside,
)
from lib.profiles import RETRAIN_VAR, get_profile
from lib.results import (
    ResultError,
    best_epoch,
    duration,
    load_result,
    reported_test_accuracy,
    write_json,
    write_result,
)

STEPS_PER_EXECUTION = 500  # optimizer steps per compiled call: few host round trips at batch 10
EVAL_BATCH_SIZE = 1000
FLAGS = ("shuffle", "measure_train", "measure_train_dropout_on")  # settings a run records only when on
STATE_FILE = "state.json"
NUMERICS = 1
"""Version of the numbers this module computes: bump it with any change that alters a run's numbers
(loss, update, data order, evaluation), so that kept networks are trained again."""


def accuracy(model, x, y, dropout_on=False):
    """Fraction of ``x`` whose arg-max prediction equals the integer label ``y``. ``dropout_on``: measured
    in training mode, dropout dropping units as it does while the network trains."""
    if dropout_on:
        model = TrainingMode(model)
    scores = model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == y))


class TrainingMode(keras.Model):
    """``model`` called in training mode (dropout dropping units) by ``predict``, which compiles the
    pass as it does any prediction; each call draws new dropout masks."""

    def __init__(self, model):
        super().__init__(name=f"{model.name}_training_mode")
        self.inner = model

    def call(self, x):
        return self.inner(x, training=True)


def jit_compile():
    """XLA for JAX and GPUs; plain graphs for TensorFlow on a CPU, where XLA measured slower here."""
    if system.backend() == "tensorflow" and not system.accelerators():
        return False
    return "auto"


def compile_model(model, optimizer, loss=None, steps=STEPS_PER_EXECUTION):
    """Compile for fast training: up to ``STEPS_PER_EXECUTION`` of an epoch's ``steps`` per call.

    One step per call where Keras cannot run more: on PyTorch, and under TensorFlow's
    ``MirroredStrategy`` (Keras 3.15 fails there with ``steps_per_execution`` > 1). The default loss
    is the mean cross-entropy of the model's logits. The optimizer's variables of a built model are
    created here: on TensorFlow, Keras would create them while tracing the first training step, and
    a function that creates variables is traced twice.
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
    if model.built and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def warn(message):
    """One line on standard error (a red line in Jupyter)."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)


def data_digest(*pairs):
    """A digest of the arrays of ``(x, y)`` pairs (``None`` allowed): a run on other data is another run."""
    digest = hashlib.blake2b(digest_size=16)
    for pair in pairs:
        for array in pair or ():
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _config(obj):
    """A layer's, optimizer's or loss's config without its (auto-numbered) name."""
    if obj is None or not hasattr(obj, "get_config"):
        return getattr(obj, "__name__", repr(obj))
    return {k: v for k, v in obj.get_config().items() if k != "name"}


def _leaf_layers(model):
    """The layers of ``model``, those of nested models (an encoder, a decoder) in their place."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _layers(model):
    """Each layer of ``model`` as the run key sees it: class, config without the name, weight shapes."""
    return [
        (layer.__class__.__name__, _config(layer), [list(w.shape) for w in layer.weights])
        for layer in _leaf_layers(model)
    ]


def fingerprint(model, optimizer, loss, settings):
    """The run key: a hash of everything that decides a run's numbers (see the module docstring)."""
    blob = json.dumps(
        {
            "layers": _layers(model),
            "optimizer": _config(optimizer),
            "loss": _config(loss),
            "numerics": NUMERICS,
            **settings,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def key_parts(model, optimizer, loss, data):
    """What the run key holds besides the settings a result records, kept with the result so that a
    later run can name what differs: digests of the layers, the loss and the ``data``
    (``data_digest``), the optimizer's class and config, and ``NUMERICS``. Not part of the key."""
    return {
        "layers": _digest(_layers(model)),
        "optimizer": json.loads(
            json.dumps({"class": type(optimizer).__name__, **_config(optimizer)}, default=str)
        ),
        "loss": _digest(_config(loss)),
        "data": data,
        "numerics": NUMERICS,
    }


def _read_kept(path, run):
    """The result in ``path``, or ``None`` with one warning if it is unreadable."""
    try:
        return load_result(path)
    except ResultError as error:
        warn(f"retraining {run}: {error}")
        return None


def _load_kept_weights(model, path, run):
    """Load the kept weights ``path`` into ``model``; ``False`` with one warning if they cannot be
    (``model`` then keeps its initial weights)."""
    if not path.exists():
        warn(f"retraining {run}: its trained weights {relative(path)} are missing.")
        return False
    initial = model.get_weights()
    try:
        with warnings.catch_warnings():  # Keras' own warnings about a foreign file: ours is the one line
            warnings.simplefilter("ignore")
            model.load_weights(path)
    except Exception as error:  # a damaged or foreign file: h5py, ValueError, KeyError...
        model.set_weights(initial)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        warn(f"retraining {run}: cannot load {relative(path)} ({reason}).")
        return False
    return True


def kept_run(model, run, profile, key, settings=None, parts=None, resumes=True):
    """The stored result of the same finished run ``run`` (a run name, ``experiments.run_name``), its
    weights loaded into ``model``; else ``None``.

    The run is looked up by its key in every file that may hold it (``lib.paths.kept_files``: the
    committed result, and in a kernel run by hand the run it last used and each variant it trained),
    with the weights beside it. A missing, unreadable or mismatched weights file means training
    again, with one line that says why; ``model`` keeps its initial weights then. When no kept run has
    this key, the cell says before it trains what differs from the kept run (``settings``, the run's
    settings, and ``parts``, its ``key_parts``, are compared with it), how long the training will
    take and how to get a quick version (``retraining_note``).
    """
    found = [(path, _read_kept(path, run)) for path in kept_files(run, profile)]
    found = [(path, result) for path, result in found if result is not None]
    matched = False  # a kept run of this key whose weights could not be loaded (its warning said so)
    for path, result in found:
        if result.get("run_key") != key:
            continue
        matched = True
        weights = weights_beside(path)
        if not _load_kept_weights(model, weights, run):
            continue
        print(
            f"Loaded {run} ({profile.name}) from {relative(weights)}; no training "
            f"(python -m lab run --force, or {RETRAIN_VAR}=1, trains it again)."
        )
        print(kept_training(result))
        if keeps_variants(profile):
            _make_current(run, profile, path)
        retraining = checkpoint_dir(run, profile, key)
        if _checkpointed_epochs(retraining, key):  # only a checkpoint of this very run is resumed
            print(f"An interrupted retraining of it is kept in {relative(retraining)}: --force resumes it.")
        return result
    if matched:
        return None
    if found and settings is not None:
        print(retraining_note(model, run, profile, key, settings, parts, found, resumes))
    elif found:
        print(f"Training {run}: the stored run {relative(found[0][0])} has other settings or code.")
    elif settings is not None:
        print(new_run_note(run, profile, key, settings, resumes))
    return None


def _checkpointed_epochs(directory, key):
    """The epochs held by the checkpoint in ``directory`` if it belongs to the run ``key``, else 0."""
    try:
        state = json.loads((directory / STATE_FILE).read_text())
        return int(state["epoch"]) if state.get("key") == key else 0
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return 0


def _shown(value):
    """A setting's value as the message shows it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def differences(kept, settings, parts=None):
    """What differs between the kept run ``kept`` (a result) and a run of ``settings`` and ``parts``
    (``key_parts``), in words: ``["eta 0.03 → 0.05", "the model's layers differ"]``.

    The settings a result records are compared one by one; the layers, optimizer, loss, data and
    ``NUMERICS`` only when the kept result recorded them (``key_parts``; runs kept before it did not).
    """
    changes, pairs = [], set()
    for name in sorted(set(settings) | {n for n in FLAGS if n in kept}):
        if name in ("experiment", "profile"):
            continue
        old, new = kept.get(name), settings.get(name)
        if name == "hyperparameters":
            old = old if isinstance(old, dict) else {}
            for hyper in sorted(set(old) | set(new)):
                if old.get(hyper) != new.get(hyper):
                    pair = (_shown(old.get(hyper)), _shown(new.get(hyper)))
                    changes.append(f"{hyper} {pair[0]} → {pair[1]}")
                    pairs.add(pair)
        elif (old or False) != (new or False):  # the FLAGS are recorded when on
            changes.append(f"{name} {_shown(old)} → {_shown(new or False)}")
    was = kept.get("key_parts")
    if not parts or not isinstance(was, dict):
        return changes
    if was.get("layers") != parts["layers"]:
        changes.append("the model's layers differ")
    old_opt, new_opt = was.get("optimizer") or {}, parts["optimizer"]
    if old_opt.get("class") != new_opt.get("class"):
        changes.append(f"optimizer {_shown(old_opt.get('class'))} → {new_opt.get('class')}")
    else:
        for name in sorted(set(old_opt) | set(new_opt)):
            old, new = old_opt.get(name), new_opt.get(name)
            if old != new and (_shown(old), _shown(new)) not in pairs:  # eta is the SGD's learning_rate
                changes.append(f"optimizer {name} {_shown(old)} → {_shown(new)}")
    if was.get("loss") != parts["loss"]:
        changes.append("the loss differs")
    sizes = ("n_train", "n_test")
    if was.get("data") != parts["data"] and all(kept.get(n) == settings.get(n) for n in sizes):
        changes.append("the training, validation or test images differ")
    if was.get("numerics") != parts["numerics"]:
        changes.append(
            f"the training code computes other numbers (NUMERICS {was.get('numerics')} → {parts['numerics']})"
        )
    return changes


def _layer_shapes_differ(model, weights):
    """Whether the kept ``weights`` file fails to load into ``model`` (other weight shapes or layers);
    ``model`` keeps its weights either way."""
    if not weights.exists():
        return False
    initial = model.get_weights()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(weights)
    except Exception:
        return True
    finally:
        model.set_weights(initial)
    return False


def epochs_text(n):
    """``1 epoch``, ``60 epochs``."""
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def training_estimate(kept, settings, done=0, device=None, of="the kept run"):
    """How long training ``settings`` takes, from the kept run ``kept``'s epoch times (``of`` names
    it): their mean, scaled by the number of training images, times the epochs left after ``done``.
    One sentence, or ``None`` when ``kept`` recorded no epoch times."""
    times = kept.get("epoch_time_s") or []
    if not times:
        return None
    per_epoch = sum(times) / len(times) * settings["n_train"] / (kept.get("n_train") or settings["n_train"])
    left = settings["epochs"] - done
    device = device or system.device()
    if kept.get("device") == device:
        where = f"as {of} took on this machine"
    else:
        where = f"as {of} took on {kept.get('device')}; this machine is {device}"
    if kept.get("batch_size") != settings["batch_size"]:
        where += "; a rough guess, as the batch size differs"
    resumed = f", resuming after epoch {done}" if done else ""
    return (
        f"It trains {epochs_text(left)}{resumed}: about {duration(left * per_epoch)} "
        f"({left} × {per_epoch:.1f} s per epoch, {where})."
    )


def retraining_note(model, run, profile, key, settings, parts, found, resumes=True):
    """What a cell prints before it trains a run that no kept run matches: what differs from the kept
    run (the first of ``found``, ``(path, result)`` pairs: the committed one if there is one), how
    long the training will take, how to stop it and how to get a quick version."""
    path, kept = found[0]
    if "run_key" not in kept:
        lines = [f"Training {run}: the stored run {relative(path)} was not kept (an older run)."]
    else:
        changes = differences(kept, settings, parts)
        if not isinstance(kept.get("key_parts"), dict) and _layer_shapes_differ(model, weights_beside(path)):
            changes.append("the model's layers differ (their weights have other shapes)")
        if not changes:
            changes = [
                "its settings are the same, so the model's layers, the optimizer, the loss, the data "
                "or the training code differ"
            ]
        what = "; ".join(changes)
        lines = [f"Training {run}: this run differs from the kept one ({relative(path)}): {what}."]
    device = system.device()
    timed = [r for _, r in found] + _timed_runs(settings["experiment"], profile)
    reference = _timing_reference(timed, device) or kept
    of = "the kept run" if reference is kept else f"{reference.get('run', run)}'s kept run"
    estimate = _estimate(run, profile, key, settings, reference, of, device)
    return "\n".join([*lines, *([estimate] if estimate else []), *_advice(profile, resumes, undo=True)])


def _timed_runs(experiment, profile):
    """The kept results of ``experiment``'s runs (every seed's) that recorded their epoch times."""
    names = EXPERIMENTS[experiment].run_names() if experiment in EXPERIMENTS else (experiment,)
    timed = []
    for name in names:
        for path in kept_files(name, profile):
            with contextlib.suppress(ResultError):
                if (result := load_result(path)).get("epoch_time_s"):
                    timed.append({"run": name, **result})
    return timed


def _timing_reference(results, device):
    """Of ``results``, the one whose epoch times best stand for ``device``'s: timed on it, else on
    the same processor (another share of its cores), else the first timed one; ``None`` if none."""
    timed = [r for r in results if r.get("epoch_time_s")]
    same = [r for r in timed if r.get("device") == device]
    alike = [r for r in timed if (r.get("device") or "").split(" (")[0] == device.split(" (")[0]]
    return (same or alike or timed or [None])[0]


def _estimate(run, profile, key, settings, kept, of, device):
    """``training_estimate`` of the run ``key``: by the epochs its checkpoint holds, timed on this
    machine, when it resumes; else by the kept run ``kept`` (``of`` names it)."""
    directory = checkpoint_dir(run, profile, key)
    done = _checkpointed_epochs(directory, key)
    try:
        times = json.loads((directory / STATE_FILE).read_text())["history"]["epoch_time_s"] if done else []
    except (OSError, ValueError, KeyError, TypeError):
        times = []
    if times:
        kept = {**settings, "epoch_time_s": times, "device": device}
        of = f"its first {done} epochs" if done > 1 else "its first epoch"
    return training_estimate(kept, settings, done, device, of=of)


def new_run_note(run, profile, key, settings, resumes=True):
    """What a cell prints before it trains a run of which nothing is kept yet: how long the training
    will take by the epoch times of its experiment's kept run (another seed's), else how much it
    trains; then how to stop it and how to get a quick version."""
    experiment, device = settings["experiment"], system.device()
    reference = _timing_reference(_timed_runs(experiment, profile), device) or {}
    of = f"{reference.get('run', experiment)}'s kept run"
    estimate = _estimate(run, profile, key, settings, reference, of, device)
    if estimate is None:  # nothing timed yet: no kept run of the experiment, no checkpoint of this one
        epochs, images = settings["epochs"], settings["n_train"]
        estimate = f"It trains {epochs_text(epochs)} of {images:,} images; nothing kept times them yet."
    return "\n".join([f"Training {run}: no run of it is kept yet.", estimate, *_advice(profile, resumes)])


def _advice(profile, resumes, undo=False):
    """In a kernel run by hand (``keeps_variants``), how to stop a training and to get a quick version,
    as a list of one line; nothing elsewhere (the main job's logs). ``resumes``: the training keeps
    checkpoints; ``undo``: an edit of a kept run, which undoing loads again."""
    if not keeps_variants(profile):
        return []
    then = ": this cell then resumes from its last finished epoch" if resumes else ""
    undone = ", and undoing the edit loads the kept run again in seconds" if undo else ""
    return [
        f"Interrupt the kernel (■) to stop it{then}{undone}. "
        'A quick version: PROFILE = "quick" in the notebook\'s parameters cell (a few epochs on small data), '
        "or make lab PROFILE=quick."
    ]


def _make_current(run, profile, source):
    """In a kernel run by hand, make the kept run in ``source`` (a result file) the one this kernel's
    notebooks read for ``run`` (``results.read_result``, ``paths.stored``): this kernel's
    ``results/<run>.<profile>.json`` and its weights become a copy of that variant, or are removed when
    ``source`` is the committed run. What they held is kept as its own variant first."""
    current = output_dir("results", profile) / f"{run}.{profile.name}.json"
    if source == current:
        return
    if current.exists() and not _set_aside(run, profile, current):
        return  # an older run without a key: left where it is
    if source.parent.parent != output_root(profile):  # the committed run: nothing shadows it now
        return
    weights = weights_beside(current)
    tmp = weights.with_name(f"tmp-{os.getpid()}.{weights.name}")
    shutil.copyfile(weights_beside(source), tmp)
    tmp.replace(weights)
    write_json(current, json.loads(source.read_text()))


def _set_aside(run, profile, current):
    """Keep the run in ``current`` as its variant (unless that variant is kept already), then remove
    ``current`` and its weights; ``False`` (nothing removed) for a result without a run key."""
    try:
        result = json.loads(current.read_text())
        key = result["run_key"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    variant = current.with_name(f"{variant_stem(run, key, profile)}.json")
    weights = weights_beside(current)
    if not variant.exists() and weights.exists():
        weights.replace(weights_beside(variant))
        result["weights"] = str(relative(weights_beside(variant)))
        write_json(variant, result)
    weights.unlink(missing_ok=True)
    current.unlink()
    return True


def save_model_weights(model, path):
    """Save the weights of ``model``'s layers alone to ``path`` (``.weights.h5``, Keras' format).

    ``Model.save_weights`` also stores the optimizer's state: Adam's, RMSprop's and Adadelta's slots
    are up to twice the model's size, and a kept run is loaded to predict or to look into, never to
    resume (checkpoints keep that state). Keras' saver skips the optimizer when asked to.
    """
    from keras.src.saving import saving_lib  # the saver behind save_weights, which cannot skip it

    optimizer = getattr(model, "optimizer", None)
    saving_lib.save_weights_only(model, path, objects_to_skip=[optimizer] if optimizer else None)


def keep(model, result, profile):
    """Save the finished run's weights, then its result (which names them): the result is the commit.

    A kernel run by hand keeps it as a variant under its key (``paths.variant_stem``), which becomes
    the run this kernel's notebooks read (``_make_current``); the main job and the quick profile write
    ``<run>.<profile>``."""
    run = result["run"]
    variant = keeps_variants(profile)
    if variant:
        stem = variant_stem(run, result["run_key"], profile)
        path = output_dir("models", profile) / f"{stem}.weights.h5"
    else:
        path = trained_weights_path(run, profile)
    tmp = path.with_name(f"tmp-{os.getpid()}.{path.name}")
    save_model_weights(model, tmp)
    tmp.replace(path)
    result["weights"] = str(relative(path))
    if not variant:
        return write_result(result)
    written = output_dir("results", profile) / f"{stem}.json"
    write_json(written, result)
    _make_current(run, profile, written)
    return written


EPOCH_COLUMNS = (  # a run's per-epoch lists, as an epoch line shows them
    ("epoch_loss", "loss {:.4f}", 1),
    ("epoch_train_accuracy_dropout_on", "train, dropout on {:.2f}%", 100),
    ("epoch_train_accuracy", "train {:.2f}%", 100),
    ("epoch_val_accuracy", "validation {:.2f}%", 100),
    ("epoch_test_accuracy", "test {:.2f}%", 100),
    ("epoch_test_mse", "test MSE {:.4f}", 1),
    ("epoch_time_s", "{:.1f} s", 1),
)


def epoch_parts(history, epoch):
    """What the line of the 1-based ``epoch`` says, from ``history``'s per-epoch lists."""
    parts = [
        form.format(scale * history[key][epoch - 1]) for key, form, scale in EPOCH_COLUMNS if history.get(key)
    ]
    val = history.get("epoch_val_accuracy")
    if val and best_epoch(val[:epoch]) == epoch:
        parts.append("best validation so far")
    return parts


def shown_epochs(n, best=None, every=10, first=3):
    """The epochs a kept run's summary shows: all of up to 12, else the first ``first``, every
    ``every``-th, the ``best`` and the last."""
    if n <= 12:
        return list(range(1, n + 1))
    return sorted({*range(1, first + 1), *range(every, n + 1, every), n} | ({best} if best else set()))


def kept_training(result):
    """A kept run's training as it happened: where and when it ran, then its epoch lines."""
    epochs = result["epochs_run"]
    best = result.get("best_epoch") if result.get("epoch_val_accuracy") else None
    lines = [
        f"Its training, {result['finished_at'][:10]} on {result['backend']}, {result['device']}, "
        f"{result['wall_time_s'] / 60:.1f} min (this kernel runs on {system.device()}):"
    ]
    previous = 0
    for epoch in shown_epochs(epochs, best):
        if epoch > previous + 1:
            lines.append("  ⋮")
        line = epoch_line(epoch, epochs, epoch_parts(result, epoch))
        lines.append(line + (" · the reported epoch" if epoch == best else ""))
        previous = epoch
    return "\n".join(lines)


def epoch_line(epoch, epochs, parts):
    """``Epoch  n/N · part · part ...``: a training's line for one epoch, live or kept."""
    return " · ".join([f"Epoch {epoch:>3}/{epochs}", *parts])


class EpochLine(keras.callbacks.Callback):
    """Times every epoch and prints one line: ``Epoch n/N · <label value> ... · seconds``.

    ``labels`` maps a label to the key of the value in Keras' epoch logs (``{"loss": "loss"}``).
    """

    def __init__(self, epochs, labels=None):
        super().__init__()
        self.epochs, self.labels, self.times = epochs, labels or {"loss": "loss"}, []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.started)
        parts = self.measure(epoch + 1, logs or {})
        print(epoch_line(epoch + 1, self.epochs, parts), flush=True)

    def measure(self, epoch, logs):
        """What the line says of ``epoch`` after its number: the logged values and the time."""
        values = [f"{label} {logs[key]:.4f}" for label, key in self.labels.items()]
        return [*values, f"{self.times[-1]:.1f} s"]


class EpochEnd(EpochLine):
    """After each epoch: measure validation and test accuracy, print one line, save a checkpoint."""

    def __init__(self, history, val, test, epochs, directory, key, train=None, train_dropout_on=None):
        super().__init__(epochs)
        self.history, self.val, self.test, self.train = history, val, test, train
        self.train_dropout_on = train_dropout_on
        self.directory, self.key = directory, key
        self.saved = len(history["epoch_test_accuracy"])  # the epoch the checkpoint on disk holds

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self.save()

    def measure(self, epoch, logs):
        h = self.history
        if self.val is not None:
            h["epoch_val_accuracy"].append(accuracy(self.model, *self.val))
        h["epoch_test_accuracy"].append(accuracy(self.model, *self.test))
        if self.train is not None:
            h["epoch_train_accuracy"].append(accuracy(self.model, *self.train))
        if self.train_dropout_on is not None:
            h["epoch_train_accuracy_dropout_on"].append(
                accuracy(self.model, *self.train_dropout_on, dropout_on=True)
            )
        h["epoch_loss"].append(float(logs["loss"]))
        h["epoch_time_s"].append(time.perf_counter() - self.started)  # the measurements included
        return epoch_parts(h, epoch)

    def save(self):
        """Checkpoint the epoch as one unit: its weights file first, then the state that names it.

        Replacing ``state.json`` is the commit: until then the previous epoch's state and weights
        stand, so a crash or Ctrl-C at any point leaves a consistent checkpoint.
        """
        epoch = len(self.history["epoch_test_accuracy"])
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        weights = d / f"epoch-{epoch:03d}.weights.h5"
        tmp = d / f"tmp-{os.getpid()}.weights.h5"
        self.model.save_weights(tmp)
        tmp.replace(weights)
        state = {"key": self.key, "epoch": epoch, "weights": weights.name, "history": self.history}
        tmp = d / f"tmp-{os.getpid()}.{STATE_FILE}"
        tmp.write_text(json.dumps(state))
        tmp.replace(d / STATE_FILE)
        self.saved = epoch
        for old in d.glob("epoch-*.weights.h5"):
            if old != weights:
                old.unlink()


class StepProgress(keras.callbacks.Callback):
    """Progress within an epoch and to the end of the run: in Jupyter one line updated in place
    (``epoch 3/60 ▕███▌    ▏ 2,500/5,000 mini-batches · 6 s · about 6 s left in this epoch, 11 min
    until all 60 epochs are done``) and cleared at the end or at an interrupt, so a saved notebook
    keeps only the epoch lines; elsewhere (a log) the same line every ``log_every`` seconds."""

    def __init__(self, steps, epochs, log_every=60.0, clock=time.monotonic):
        super().__init__()
        self.steps, self.epochs, self.log_every, self.clock = steps, epochs, log_every, clock
        self.display, self.run_started = None, None

    def on_train_begin(self, logs=None):
        if in_jupyter():
            from IPython.display import display

            self.display = display({"text/plain": ""}, raw=True, display_id=True)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.started = epoch + 1, self.clock()
        self.shown = self.started
        if self.run_started is None:  # the first epoch of this call (a resumed run starts later)
            self.run_started, self.first_epoch = self.started, self.epoch

    def on_train_batch_end(self, batch, logs=None):
        now = self.clock()
        if self.display is None and now - self.shown < self.log_every:
            return
        self.shown = now
        line = self.line(batch + 1, now - self.started, now - self.run_started)
        if self.display is not None:
            self.display.update({"text/plain": line}, raw=True)
        else:
            print(line, flush=True)

    def on_train_end(self, logs=None):
        self.clear()

    def clear(self):
        """Empty the line in Jupyter (at the end, or when the training is interrupted)."""
        if self.display is not None:
            self.display.update({"text/plain": ""}, raw=True)

    def line(self, done, seconds, run_seconds=None):
        """The line after ``done`` mini-batches of the epoch, ``seconds`` into it and ``run_seconds``
        into this call's training (the epoch's time if not given)."""
        width, fraction = 20, done / self.steps
        filled = "█" * int(width * fraction)
        run_seconds = seconds if run_seconds is None else run_seconds
        left = []
        if 0 < fraction < 1:
            left.append(f"{duration(seconds / fraction - seconds)} left in this epoch")
        steps_done = (self.epoch - self.first_epoch) * self.steps + done
        steps_left = (self.epochs - self.epoch + 1) * self.steps - done
        if self.epoch < self.epochs and steps_done:
            left.append(
                f"{duration(run_seconds / steps_done * steps_left)} until all {self.epochs} epochs are done"
            )
        return (
            f"epoch {self.epoch}/{self.epochs} ▕{filled:<{width}}▏ {done:,}/{self.steps:,} mini-batches "
            f"· {seconds:.0f} s" + (f" · about {', '.join(left)}" if left else "")
        )


def in_jupyter():
    """Whether this code runs in a Jupyter kernel (a notebook, or papermill's kernels): IPython's shell
    of an ipykernel (a process that merely imported ipykernel, as pytest's plugins do, is not one)."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


class TrainingInterrupted(KeyboardInterrupt):
    """A training interrupted in a Jupyter kernel. IPython shows its one line instead of a traceback
    (``_render_traceback_``, its hook for exceptions that format themselves) and the cell stops, as
    does Run All. A ``KeyboardInterrupt``: whatever stops on one stops on it."""

    def _render_traceback_(self):
        return [str(self)]


def _interrupted(line):
    """Say that a training was interrupted, in ``line``: in Jupyter by raising ``TrainingInterrupted``
    (the cell's one line); elsewhere by printing it (the caller re-raises the ``KeyboardInterrupt``,
    on which ``python -m lab run`` says how to continue)."""
    if in_jupyter():
        raise TrainingInterrupted(line) from None
    print(line, flush=True)


class StopOnInterrupt(keras.callbacks.Callback):
    """Raise ``KeyboardInterrupt`` at the next mini-batch once an interrupt was noted, for one that
    the backend swallowed."""

    def __init__(self):
        super().__init__()
        self.noted = False

    def on_train_batch_end(self, batch, logs=None):
        if self.noted:
            raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible(progress, interrupted):
    """Run a ``model.fit`` (with the yielded callback) so that an interrupt (■ in Jupyter, Ctrl-C)
    clears ``progress`` and ends in the one line ``interrupted()``, then a ``KeyboardInterrupt``.

    TensorFlow can turn the ``KeyboardInterrupt`` of an interrupt that arrives while it traces a step
    into a ``SystemError``; the interrupt is noted (SIGINT), so that such an error is read as the
    interrupt."""
    stop = StopOnInterrupt()
    previous = signal.getsignal(signal.SIGINT)
    noting = threading.current_thread() is threading.main_thread() and callable(previous)
    if noting:

        def note(signum, frame):
            stop.noted = True
            previous(signum, frame)

        signal.signal(signal.SIGINT, note)
    try:
        yield stop
    except (KeyboardInterrupt, SystemError) as error:
        if not isinstance(error, KeyboardInterrupt) and not stop.noted:
            raise
        progress.clear()
        _interrupted(interrupted())
        raise KeyboardInterrupt from None
    finally:
        if noting:
            signal.signal(signal.SIGINT, previous)


class CheckpointError(Exception):
    """A checkpoint that cannot be resumed (damaged or incomplete)."""


def _read_checkpoint(model, directory, key):
    """Load the checkpoint's weights into ``model`` and return its history; ``None`` if of another run."""
    try:
        state = json.loads((directory / STATE_FILE).read_text())
        if state.get("key") != key:
            return None
        history, weights = state["history"], directory / state["weights"]
        if len(history["epoch_test_accuracy"]) != state["epoch"]:
            raise CheckpointError(f"its history does not end at epoch {state['epoch']}")
        model.load_weights(weights)
    except CheckpointError:
        raise
    except Exception as error:  # truncated JSON or HDF5, missing keys or files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{type(error).__name__}: {reason}") from None
    return history


def _resume(model, directory, key):
    """Load the last completed epoch of the same run, if one was saved; return its history.

    A checkpoint of other settings (``.superseded-<time>``) or a damaged one (``.damaged-<time>``) is
    moved aside, never deleted nor overwritten, with one line that says where, and the run starts
    from its first epoch.
    """
    if not (directory / STATE_FILE).exists():
        return None
    initial = model.get_weights()
    try:
        history = _read_checkpoint(model, directory, key)
    except CheckpointError as error:
        model.set_weights(initial)
        aside = _move_aside(directory, "damaged")
        warn(
            f"ignoring the checkpoint in {relative(directory)} ({error}); moved it to {relative(aside)} "
            "and training from the first epoch."
        )
        return None
    if history is None:
        aside = _move_aside(directory, "superseded")
        print(
            f"Ignoring the checkpoint in {relative(directory)}: it belongs to a run with other settings; "
            f"moved it to {relative(aside)} and training from the first epoch."
        )
    return history


def _move_aside(directory, why):
    """Rename the checkpoint ``directory`` to ``<name>.<why>-<time>`` beside it; return the new path."""
    aside = directory.with_name(f"{directory.name}.{why}-{datetime.now():%Y%m%d-%H%M%S}")
    directory.rename(aside)
    return aside


@contextlib.contextmanager
def exclusive(directory, experiment):
    """Hold a lock on ``directory``'s run for the block; a second process training the same run is
    refused with one line (POSIX ``flock``; released when the process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(f"{directory.name}.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"{experiment} is already training in another process (checkpoint {relative(directory)}); "
                "wait for it to finish or stop it, then run this again."
            ) from None
        yield


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
    measure_train_dropout_on=False,
    run=None,
):
    """Train ``model`` on ``train`` in fixed mini-batch order and return the run's result dict.

    ``train``, ``val`` and ``test`` are ``(x, y)`` pairs with integer labels; ``val`` may be
    ``None`` (the reported accuracy is then the last epoch's). The default loss is the mean
    cross-entropy of the model's logits; L2 terms come from the layers' regularizers. An
    interrupted run resumes from its last completed epoch when called again with the same settings.
    The result is also written to ``results/<run>.<profile>.json`` and the final weights to
    ``models/<run>.<profile>.weights.h5``, where ``run`` defaults to ``experiments.run_name(experiment,
    seed)`` (the experiment's name for seed 0); in a profile with ``reuse_trained`` (full), a later
    call of the same run (same run key, see the module docstring) loads them and returns the stored
    result without training, unless ``$LAB_RETRAIN`` is ``1``.

    ``shuffle=True`` reshuffles the training set every epoch (Keras' default, as the Keras examples
    train); ``measure_train=True`` also records the training-set accuracy after every epoch
    (``epoch_train_accuracy``, measured with dropout off, as the Theano tutorial plots it);
    ``measure_train_dropout_on=True`` records it with dropout on as well (``epoch_train_accuracy_dropout_on``:
    what a model left in training mode reports, as notebook 11 shows).
    """
    profile = get_profile(profile)
    run = run or run_name(experiment, seed)
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
    for flag, on in zip(FLAGS, (shuffle, measure_train, measure_train_dropout_on), strict=True):
        if on:
            settings[flag] = True
    data = data_digest(train, val, test)
    key = fingerprint(model, optimizer, loss, settings | {"data": data})
    parts = key_parts(model, optimizer, loss, data)
    if profile.reuses_kept_runs():
        kept = kept_run(model, run, profile, key, settings, parts)
        if kept is not None:
            return kept
    directory = checkpoint_dir(run, profile, key)
    with exclusive(directory, run):
        history = _train(model, run, profile, settings, key, directory, (train, val, test))
        epoch, test_acc = reported_test_accuracy(
            history["epoch_val_accuracy"], history["epoch_test_accuracy"]
        )
        result = {
            **settings,
            "run": run,
            "protocol": f"one run, seed {seed}",
            "epochs_run": len(history["epoch_test_accuracy"]),
            "best_epoch": epoch,
            "test_accuracy": test_acc,
            "best_val_accuracy": max(history["epoch_val_accuracy"]) if val is not None else None,
            **history,
            "wall_time_s": sum(history["epoch_time_s"]),
            **system.provenance(),
            "key_parts": parts,
            "run_key": key,
        }
        path = keep(model, result, profile)
        shutil.rmtree(directory, ignore_errors=True)
    rule = "at the best validation epoch" if val is not None else "after the last epoch"
    print(f"Test accuracy {100 * test_acc:.2f}% {rule} ({epoch}); saved {relative(path)} and its weights.")
    return result


def _train(model, run, profile, settings, key, directory, data):
    """Run the epochs not yet in ``directory``'s checkpoint; return the whole per-epoch history."""
    train, val, test = data
    x, y = train
    epochs, batch_size = settings["epochs"], settings["batch_size"]
    history = _resume(model, directory, key)
    if history is None:
        history = {k: [] for k in ("epoch_val_accuracy", "epoch_test_accuracy", "epoch_loss", "epoch_time_s")}
        for flag, name in (
            ("measure_train", "epoch_train_accuracy"),
            ("measure_train_dropout_on", "epoch_train_accuracy_dropout_on"),
        ):
            if settings.get(flag):
                history[name] = []
    done = len(history["epoch_test_accuracy"])
    if done:
        print(f"Resuming {run} ({profile.name}) after epoch {done} of {epochs}.")
    steps = int(np.ceil(len(x) / batch_size))
    print(
        f"Training {run} ({profile.name}): {len(x):,} images, {epochs_text(epochs)}, "
        f"batch {batch_size}, {steps:,} steps per epoch, on {system.device()}"
        + (f", data-parallel over {distribute.replicas()} devices." if distribute.replicas() > 1 else ".")
    )
    callback = EpochEnd(
        history,
        val,
        test,
        epochs,
        directory,
        key,
        train=train if settings.get("measure_train") else None,
        train_dropout_on=train if settings.get("measure_train_dropout_on") else None,
    )
    progress = StepProgress(steps, epochs)

    def interrupted():
        if callback.saved:
            return (
                f"Interrupted; the checkpoint {relative(directory)} holds epoch {callback.saved} of "
                f"{epochs}: run the same code again to resume from there."
            )
        return (
            f"Interrupted before epoch 1 of {epochs} was saved: no checkpoint; "
            "running the same code again starts from the first epoch."
        )

    with interruptible(progress, interrupted) as stop:
        model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=done,
            shuffle=settings.get("shuffle", False),
            verbose=0,
            callbacks=[progress, callback, stop],
        )
    return history


def network3_sgd(
    model, experiment, *, train, val, test, epochs, eta, seed, lmbda=0.0, profile=None, run=None
):
    """network3's ``Network.SGD``: plain SGD with learning rate ``eta`` on mini-batches of 10.

    ``lmbda`` is recorded with the run; its L2 terms live in the layers (``models.l2_factor``).
    ``run``: the name of the run's files (``fit``).
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
        run=run,
    )


def train_autoencoder(
    model, experiment, *, train, test, epochs, batch_size, learning_rate, seed, epsilon=1e-7, profile=None
):
    """Train ``model`` to reproduce ``train`` (rows of pixels) with Adam and the mean squared error.

    Taught in notebook 09 (its dense autoencoder); kept here beside ``fit`` because it keeps and
    reloads its runs the same way.

    The training set is reshuffled every epoch (as the lecture's ``DataLoader(shuffle=True)``). Returns
    a result dict with the per-epoch training loss and test MSE, also written to
    ``results/<run>.<profile>.json`` (``experiments.run_name``); the weights are kept, and in the full
    profile the same run is loaded instead of trained again. ``epsilon``: Adam's ε (Keras' default
    1e-7, PyTorch's 1e-8).
    """
    profile = get_profile(profile)
    run = run_name(experiment, seed)
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
    data = data_digest((train,), (test,))
    key = fingerprint(model, optimizer, "mse", settings | {"data": data})
    parts = key_parts(model, optimizer, "mse", data)
    if profile.reuses_kept_runs():
        kept = kept_run(model, run, profile, key, settings, parts, resumes=False)
        if kept is not None:
            return kept
    print(
        f"Training {run} ({profile.name}): {len(train):,} images, {epochs} epochs, "
        f"batch {batch_size}, Adam {learning_rate}, on {system.device()}."
    )
    line = EpochLine(epochs, {"loss (MSE)": "loss", "test MSE": "val_loss"})
    progress = StepProgress(steps, epochs)

    def interrupted():
        return (
            f"Interrupted after epoch {len(line.times)} of {epochs}: {run} keeps no checkpoint, so "
            "running the same code again trains it from the first epoch."
        )

    with interruptible(progress, interrupted) as stop:
        history = model.fit(
            train,
            train,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=True,
            validation_data=(test, test),
            verbose=0,
            callbacks=[progress, line, stop],
        ).history
    result = {
        **settings,
        "run": run,
        "protocol": f"one run, seed {seed}",
        "epochs_run": len(history["loss"]),
        "epoch_loss": [float(v) for v in history["loss"]],
        "epoch_test_mse": [float(v) for v in history["val_loss"]],
        "test_mse": float(history["val_loss"][-1]),
        "epoch_time_s": line.times,
        "wall_time_s": sum(line.times),
        **system.provenance(),
        "key_parts": parts,
        "run_key": key,
    }
    path = keep(model, result, profile)
    print(f"Test reconstruction MSE {result['test_mse']:.4f} after epoch {epochs}; saved {path.name}.")
    return result
