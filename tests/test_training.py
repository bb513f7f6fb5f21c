import json
import pathlib
import signal
import subprocess

import keras
import numpy as np
import pytest

from lib import models, paths, training
from lib.paths import checkpoint_dir
from lib.system import set_seed

STATE = training.STATE_FILE


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.random((600, 28, 28, 1), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int32)
    return (x[:400], y[:400]), (x[400:500], y[400:500]), (x[500:], y[500:])


def run(tiny_data, experiment="unit-test", epochs=3, lr=0.1):
    train, val, test = tiny_data
    set_seed(0)
    model = models.network3(models.fully_connected(16), models.softmax(2))
    result = training.fit(
        model,
        experiment,
        train=train,
        val=val,
        test=test,
        epochs=epochs,
        batch_size=10,
        optimizer=keras.optimizers.SGD(lr),
        seed=0,
        profile="quick",
    )
    return model, result


def final_weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def git_ignores(path):
    """Whether the project's .gitignore ignores ``path`` (relative to the repository)."""
    repo = pathlib.Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    command = ["git", "-C", str(repo), "check-ignore", "-q", "--no-index", path]
    return subprocess.run(command).returncode == 0


def interrupt_at_epoch(monkeypatch, epoch):
    save = training.EpochEnd.save

    def save_then_interrupt(self):
        save(self)
        if len(self.history["epoch_loss"]) == epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(training.EpochEnd, "save", save_then_interrupt)
    return save


def test_result_json_records_the_run(tiny_data, isolated_outputs):
    model, result = run(tiny_data)
    stored = json.loads((isolated_outputs / ".quick" / "results" / "unit-test.quick.json").read_text())
    assert stored == result
    assert len(result["epoch_val_accuracy"]) == len(result["epoch_test_accuracy"]) == 3
    best = result["best_epoch"]
    assert result["test_accuracy"] == result["epoch_test_accuracy"][best - 1]
    assert result["epoch_val_accuracy"][best - 1] == max(result["epoch_val_accuracy"])
    assert {"wall_time_s", "backend", "device", "versions", "profile", "batch_size"} <= set(result)
    assert result["epoch_test_accuracy"][-1] == training.accuracy(model, *tiny_data[2])
    assert not checkpoint_dir("unit-test", "quick").exists()


def test_same_seed_gives_the_same_numbers(tiny_data):
    model_a, a = run(tiny_data)
    model_b, b = run(tiny_data)
    assert a["epoch_loss"] == b["epoch_loss"] and a["epoch_val_accuracy"] == b["epoch_val_accuracy"]
    for wa, wb in zip(final_weights(model_a), final_weights(model_b), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_compile_model_creates_the_optimizer_variables_and_changes_no_number(tiny_data):
    (x, y), _, _ = tiny_data
    trained = []
    for compile_with_lib in (True, False):
        set_seed(0)
        model = models.network3(models.fully_connected(16), models.softmax(2))
        optimizer = keras.optimizers.Adam(0.01)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if compile_with_lib:
            training.compile_model(model, optimizer, loss, steps=40)
            assert optimizer.built and len(optimizer.variables) > 2  # iterations, rate, then the slots
        else:
            model.compile(optimizer=optimizer, loss=loss)  # Keras builds the optimizer in the first step
        model.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
        trained.append(final_weights(model))
    for a, b in zip(*trained, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_interrupted_run_resumes_after_its_last_completed_epoch(tiny_data, monkeypatch, capsys):
    reference_model, reference = run(tiny_data)
    save = interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data)
    assert "holds epoch 2 of 3" in capsys.readouterr().out
    monkeypatch.setattr(training.EpochEnd, "save", save)
    model, resumed = run(tiny_data)
    assert "Resuming unit-test (quick) after epoch 2 of 3" in capsys.readouterr().out
    assert resumed["epoch_loss"] == pytest.approx(reference["epoch_loss"], rel=1e-6)
    assert resumed["epoch_test_accuracy"] == reference["epoch_test_accuracy"]
    for wa, wb in zip(final_weights(model), final_weights(reference_model), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_interrupted_before_the_first_checkpoint_says_so_and_starts_afresh(tiny_data, monkeypatch, capsys):
    def interrupt(self):
        raise KeyboardInterrupt  # while epoch 1 is being saved: nothing is on disk yet

    save = training.EpochEnd.save
    monkeypatch.setattr(training.EpochEnd, "save", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data)
    out = capsys.readouterr().out
    assert "Interrupted before epoch 1 of 3 was saved: no checkpoint" in out and "holds epoch" not in out
    monkeypatch.setattr(training.EpochEnd, "save", save)
    _, result = run(tiny_data)
    assert "Resuming" not in capsys.readouterr().out and len(result["epoch_loss"]) == 3


@pytest.mark.parametrize("backend", ["turns it into a SystemError", "swallows it"])
def test_an_interrupt_the_backend_mangles_ends_in_the_one_line(tiny_data, monkeypatch, capsys, backend):
    def interrupt_inside_the_backend(self, batch, logs=None):  # the ■ while TensorFlow traces a step
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            if backend == "turns it into a SystemError":
                raise SystemError("Objects/listobject.c:338: bad argument to internal function") from None

    monkeypatch.setattr(training.StepProgress, "on_train_batch_end", interrupt_inside_the_backend)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data)
    assert "Interrupted before epoch 1 of 3 was saved" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_a_system_error_without_an_interrupt_is_not_taken_for_one(tiny_data, monkeypatch):
    def fail(self, batch, logs=None):
        raise SystemError("a real one")

    monkeypatch.setattr(training.StepProgress, "on_train_batch_end", fail)
    with pytest.raises(SystemError, match="a real one"):
        run(tiny_data)


def test_checkpoint_of_other_settings_is_not_resumed(tiny_data, monkeypatch, capsys):
    def interrupt(self):
        raise KeyboardInterrupt

    save = training.EpochEnd.save
    monkeypatch.setattr(training.EpochEnd, "save", lambda self: (save(self), interrupt(self)))
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data, lr=0.1)
    monkeypatch.setattr(training.EpochEnd, "save", save)
    directory = checkpoint_dir("unit-test", "quick")
    kept = (directory / STATE).read_text()
    _, result = run(tiny_data, lr=0.05)
    assert (
        "it belongs to a run with other settings; moved it to .quick/checkpoints/unit-test.superseded-"
        in (capsys.readouterr().out)
    )
    assert len(result["epoch_loss"]) == 3
    (aside,) = directory.parent.glob("unit-test.superseded-*")  # never overwritten by the new run
    assert (aside / STATE).read_text() == kept and git_ignores(f"checkpoints/{aside.name}/{STATE}")


def fit_two_epochs(model, experiment, train, test, **flags):
    """Two quick-profile epochs of SGD 0.1 on ``train`` with the given flags of ``training.fit``."""
    return training.fit(
        model,
        experiment,
        train=train,
        test=test,
        epochs=2,
        batch_size=10,
        optimizer=keras.optimizers.SGD(0.1),
        seed=0,
        profile="quick",
        **flags,
    )


def test_measure_train_records_training_accuracy_and_shuffle_is_kept(tiny_data):
    train, val, test = tiny_data
    set_seed(0)
    model = models.network3(models.fully_connected(16), models.softmax(2))
    result = fit_two_epochs(model, "unit-test-train-accuracy", train, test, shuffle=True, measure_train=True)
    assert len(result["epoch_train_accuracy"]) == 2
    assert result["epoch_train_accuracy"][-1] == training.accuracy(model, *train)
    assert result["shuffle"] is True and result["measure_train"] is True
    _, plain = run(tiny_data, experiment="unit-test-plain", epochs=1)
    assert "epoch_train_accuracy" not in plain and "shuffle" not in plain


def test_dropout_on_accuracy_is_measured_in_training_mode(tiny_data):
    train, _, test = tiny_data
    set_seed(0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.9), keras.layers.Dense(2)]
    )
    result = fit_two_epochs(
        model, "unit-test-dropout-on", train, test, measure_train=True, measure_train_dropout_on=True
    )
    on, off = result["epoch_train_accuracy_dropout_on"], result["epoch_train_accuracy"]
    assert len(on) == len(off) == 2 and result["measure_train_dropout_on"] is True
    # dropout 0.9 in training mode: the same images give other answers from one call to the next
    assert training.accuracy(model, *train) == off[-1]
    draws = {training.accuracy(model, *train, dropout_on=True) for _ in range(3)}
    assert len(draws) > 1, f"dropout on gave the same accuracy three times: {draws}"
    assert "train, dropout on" in training.epoch_line(2, 2, training.epoch_parts(result, 2))


def full_run(tiny_data, lr=0.1, hidden=16, data=None, seed=0, optimizer=None, shuffle=False):
    """A run in the full profile (outputs isolated per test), which keeps and reuses finished runs."""
    train, val, test = data or tiny_data
    set_seed(seed)
    model = models.network3(models.fully_connected(hidden), models.softmax(2))
    result = training.fit(
        model,
        "unit-test-kept",
        train=train,
        val=val,
        test=test,
        epochs=2,
        batch_size=10,
        optimizer=optimizer or keras.optimizers.SGD(lr),
        seed=seed,
        profile="full",
        shuffle=shuffle,
    )
    return model, result


@pytest.fixture
def fits(monkeypatch):
    """Counts the calls of ``keras.Model.fit``: a kept run is loaded without one."""
    calls, fit = [], keras.Model.fit

    def counted(self, *args, **kwargs):
        calls.append(self)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", counted)
    return calls


def test_a_finished_run_is_kept_and_the_same_run_trains_no_step(tiny_data, isolated_outputs, capsys, fits):
    first_model, first = full_run(tiny_data)
    assert (isolated_outputs / "models" / "unit-test-kept.full.weights.h5").exists()
    assert first["weights"] == "models/unit-test-kept.full.weights.h5" and first["run_key"]
    capsys.readouterr()
    model, again = full_run(tiny_data)
    assert fits == [first_model]
    assert again == first
    loaded, shown, *epochs = capsys.readouterr().out.splitlines()
    assert "no training" in loaded and shown.startswith(f"Its training, {first['finished_at'][:10]} on ")
    assert epochs == [
        " · ".join([f"Epoch {e:>3}/2", *training.epoch_parts(first, e)])
        + (" · the reported epoch" if e == first["best_epoch"] else "")
        for e in (1, 2)
    ]
    for wa, wb in zip(final_weights(model), final_weights(first_model), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_each_seed_is_a_run_of_its_own_kept_beside_the_others(tiny_data, isolated_outputs, fits):
    models_dir, results_dir = isolated_outputs / "models", isolated_outputs / "results"
    _, first = full_run(tiny_data, seed=0)
    _, second = full_run(tiny_data, seed=1)
    assert (first["run"], second["run"]) == ("unit-test-kept", "unit-test-kept-seed1")
    assert first["experiment"] == second["experiment"] == "unit-test-kept"
    assert first["run_key"] != second["run_key"]
    assert (models_dir / "unit-test-kept-seed1.full.weights.h5").exists()
    assert json.loads((results_dir / "unit-test-kept-seed1.full.json").read_text()) == second
    assert json.loads((results_dir / "unit-test-kept.full.json").read_text()) == first
    _, again = full_run(tiny_data, seed=1)
    assert len(fits) == 2 and again == second


def test_a_kept_weights_file_holds_the_model_alone(tiny_data, isolated_outputs, capsys):
    import h5py

    model, result = full_run(tiny_data, optimizer=keras.optimizers.Adam(1e-3))
    with h5py.File(isolated_outputs / result["weights"]) as stored:
        names = []
        stored.visit(names.append)
    assert names and not [n for n in names if n.startswith("optimizer")]
    assert len([n for n in names if "/vars/" in n]) == len(model.weights)
    loaded, _ = full_run(tiny_data, optimizer=keras.optimizers.Adam(1e-3))
    assert "no training" in capsys.readouterr().out
    for wa, wb in zip(final_weights(loaded), final_weights(model), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_quick_runs_never_reuse(tiny_data, fits):
    run(tiny_data, epochs=1)
    run(tiny_data, epochs=1)
    assert len(fits) == 2


@pytest.mark.parametrize(
    "change, said",
    [
        ({"lr": 0.05}, "optimizer learning_rate 0.1 → 0.05"),
        ({"data": "shifted"}, "the training, validation or test images differ"),
        ({"hidden": 8}, "the model's layers differ"),
    ],
    ids=["learning rate", "training data", "layers"],
)
def test_another_setting_or_other_data_retrains_and_says_what_differs(tiny_data, change, said, capsys, fits):
    full_run(tiny_data)
    capsys.readouterr()
    if change.get("data"):
        (x, y), val, test = tiny_data
        change = {"data": ((x[::-1], y[::-1]), val, test)}
    model, _ = full_run(tiny_data, **change)
    assert fits[-1] is model and len(fits) == 2
    first = capsys.readouterr().out.splitlines()[0]
    kept = "results/unit-test-kept.full.json"
    assert first == f"Training unit-test-kept: this run differs from the kept one ({kept}): {said}."


def test_retrain_variable_trains_again(tiny_data, monkeypatch, fits):
    full_run(tiny_data)
    monkeypatch.setenv("LAB_RETRAIN", "1")
    full_run(tiny_data)
    assert len(fits) == 2


def write_foreign_weights(path):
    models.network3(models.fully_connected(8), models.softmax(2)).save_weights(path)


@pytest.mark.parametrize(
    "damage",
    [lambda p: p.write_bytes(p.read_bytes()[:1000]), write_foreign_weights],
    ids=["truncated", "another net's weights"],
)
def test_a_damaged_or_mismatched_weights_file_retrains_with_one_warning(tiny_data, damage, capsys, fits):
    _, first = full_run(tiny_data)
    path = training.trained_weights_path("unit-test-kept", "full")
    damage(path)
    capsys.readouterr()
    model, again = full_run(tiny_data)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Warning: retraining unit-test-kept: cannot load")
    assert len(fits) == 2
    assert again["epoch_test_accuracy"] == first["epoch_test_accuracy"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d, state: next(d.glob("epoch-*.weights.h5")).write_bytes(b"\x89HDF\r\n"),
        lambda d, state: (d / "state.json").write_text("{garbage"),
        lambda d, state: (d / "state.json").write_text(json.dumps({"key": state["key"]})),
    ],
    ids=["truncated weights", "garbage state", "incomplete state"],
)
def test_a_damaged_checkpoint_is_moved_aside_and_training_starts_afresh(
    tiny_data, monkeypatch, capsys, damage
):
    _, reference = run(tiny_data)
    save = interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data)
    monkeypatch.setattr(training.EpochEnd, "save", save)
    directory = checkpoint_dir("unit-test", "quick")
    state = json.loads((directory / "state.json").read_text())
    damage(directory, state)
    capsys.readouterr()
    _, result = run(tiny_data)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "Warning: ignoring the checkpoint in .quick/checkpoints/unit-test"
    )
    assert "training from the first epoch" in err[0]
    assert result["epoch_test_accuracy"] == reference["epoch_test_accuracy"]
    (aside,) = directory.parent.glob("unit-test.damaged-*")
    for name in (STATE, next(aside.glob("epoch-*.weights.h5")).name):  # in the main job's tracked folder
        assert git_ignores(f"checkpoints/{aside.name}/{name}")


def test_killed_between_the_weights_and_the_state_resumes_from_the_previous_epoch(
    tiny_data, monkeypatch, capsys
):
    reference_model, reference = run(tiny_data)
    original = pathlib.Path.write_text
    states = []

    def killed_before_the_second_state(path, *args, **kwargs):
        if path.name.endswith("state.json"):
            states.append(path)
            if len(states) == 2:
                raise KeyboardInterrupt  # epoch 2's weights are on disk, its state is not
        return original(path, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", killed_before_the_second_state)
    with pytest.raises(KeyboardInterrupt):
        run(tiny_data)
    assert "holds epoch 1 of 3" in capsys.readouterr().out
    assert states[1].name.startswith("tmp-") and git_ignores(f"checkpoints/unit-test/{states[1].name}")
    monkeypatch.setattr(pathlib.Path, "write_text", original)
    model, resumed = run(tiny_data)
    assert "after epoch 1 of 3" in capsys.readouterr().out
    assert resumed["epoch_test_accuracy"] == reference["epoch_test_accuracy"]
    for wa, wb in zip(final_weights(model), final_weights(reference_model), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_a_second_process_training_the_same_run_is_refused(tiny_data):
    lock = training.exclusive(checkpoint_dir("unit-test", "quick"), "unit-test")
    with lock, pytest.raises(RuntimeError, match="unit-test is already training in another process"):
        run(tiny_data)
    (lock_file,) = checkpoint_dir("unit-test", "quick").parent.glob("*.lock")
    assert git_ignores(f"checkpoints/{lock_file.name}")
    run(tiny_data, epochs=1)  # the lock is released with the block


def test_a_kernel_run_by_hand_writes_beside_the_committed_files_and_reads_them(
    tiny_data, isolated_outputs, monkeypatch, fits
):
    _, committed = full_run(tiny_data)  # the main job
    monkeypatch.delenv("LAB_MAIN_JOB")  # a Jupyter kernel
    _, loaded = full_run(tiny_data)
    assert loaded == committed and len(fits) == 1
    _, other = full_run(tiny_data, lr=0.05)  # trained by hand: kept apart from the committed files
    stem = f"unit-test-kept.{other['run_key']}.full"
    assert other["weights"] == f".interactive/models/{stem}.weights.h5"
    assert json.loads((isolated_outputs / ".interactive" / "results" / f"{stem}.json").read_text()) == other
    current = isolated_outputs / ".interactive" / "results" / "unit-test-kept.full.json"
    assert json.loads(current.read_text()) == other  # what this kernel's other notebooks read
    assert json.loads((isolated_outputs / "results" / "unit-test-kept.full.json").read_text()) == committed
    _, again = full_run(tiny_data, lr=0.05)
    assert again == other and len(fits) == 2  # this kernel's own run is kept too


class FakeDisplay:
    def __init__(self):
        self.shown = []

    def update(self, data, raw=False):
        assert raw
        self.shown.append(data["text/plain"])


def test_step_progress_updates_one_line_in_jupyter_and_clears_it(monkeypatch):
    progress = training.StepProgress(steps=1000, epochs=3, clock=iter([0.0, 30.0, 60.0]).__next__)
    progress.display = FakeDisplay()
    progress.on_epoch_begin(1)
    progress.on_train_batch_end(499)
    progress.on_train_batch_end(999)
    progress.on_train_end()
    first, second, last = progress.display.shown
    assert first == (
        "epoch 2/3 ▕██████████          ▏ 500/1,000 mini-batches · 30 s · "
        "about 30 s left in this epoch, 1 min 30 s until all 3 epochs are done"
    )
    assert second == (
        "epoch 2/3 ▕████████████████████▏ 1,000/1,000 mini-batches · 60 s · "
        "about 1 min 00 s until all 3 epochs are done"
    )
    assert last == ""


def test_step_progress_in_a_log_prints_a_line_at_most_every_minute(capsys):
    times = iter([0.0, 10.0, 61.0, 70.0])
    progress = training.StepProgress(steps=100, epochs=1, clock=times.__next__)
    progress.on_epoch_begin(0)
    for batch in (9, 59, 69):
        progress.on_train_batch_end(batch)
    assert (
        capsys.readouterr().out
        == "epoch 1/1 ▕████████████        ▏ 60/100 mini-batches · 61 s · about 41 s left in this epoch\n"
    )


def test_a_kept_run_says_where_an_interrupted_retraining_waits(tiny_data, monkeypatch, capsys):
    full_run(tiny_data)
    monkeypatch.setenv("LAB_RETRAIN", "1")
    save = interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        full_run(tiny_data)
    monkeypatch.setattr(training.EpochEnd, "save", save)
    monkeypatch.delenv("LAB_RETRAIN")
    capsys.readouterr()
    full_run(tiny_data)
    assert "An interrupted retraining of it is kept in checkpoints/unit-test-kept" in capsys.readouterr().out


def test_a_kept_run_does_not_promise_to_resume_a_checkpoint_of_other_settings(tiny_data, monkeypatch, capsys):
    full_run(tiny_data)
    save = interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        full_run(tiny_data, lr=0.05)  # another run of the same experiment, interrupted
    monkeypatch.setattr(training.EpochEnd, "save", save)
    capsys.readouterr()
    full_run(tiny_data)  # loaded: --force would move that checkpoint aside, not resume it
    out = capsys.readouterr().out
    assert out.startswith("Loaded unit-test-kept") and "An interrupted retraining" not in out


def test_only_the_main_jobs_checkpoints_are_committed(monkeypatch):
    """The main job's checkpoints lie in the tracked checkpoints/ (a long run resumes in a later
    session or clone); a kernel run by hand and the quick profile keep theirs in ignored folders."""
    assert checkpoint_dir("relu", "full") == paths.ROOT / "checkpoints" / "relu"
    assert checkpoint_dir("relu", "quick") == paths.QUICK_ROOT / "checkpoints" / "relu"
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    assert checkpoint_dir("relu", "full") == paths.ROOT / ".interactive" / "checkpoints" / "relu"
    ignored = (pathlib.Path(__file__).parent.parent / ".gitignore").read_text().split()
    assert {".quick/", ".interactive/", "checkpoints/*.lock", "checkpoints/**/tmp-*"} <= set(ignored)
    assert "checkpoints/" not in ignored
    assert not git_ignores("checkpoints/relu/state.json")
    assert not git_ignores("checkpoints/relu/epoch-001.weights.h5")


def test_a_killed_save_of_a_kept_run_leaves_no_untracked_file(tiny_data):
    """The temporary files of the committed models/ and results/ are ignored, like the checkpoints'."""
    full_run(tiny_data)
    written = sorted(p.name for p in (paths.ROOT / "models").iterdir()) + sorted(
        p.name for p in (paths.ROOT / "results").iterdir()
    )
    assert written == ["unit-test-kept.full.weights.h5", "unit-test-kept.full.json"]
    for folder, name in (("models", written[0]), ("results", written[1])):
        assert git_ignores(f"{folder}/tmp-123.{name}") and not git_ignores(f"{folder}/{name}")


def test_the_progress_line_counts_the_time_left_to_the_end_of_the_run_from_its_first_epoch():
    """Resumed at epoch 3 of 10: 8 epochs of 100 mini-batches to go; the evaluation between epochs
    (here 10 s) is part of the rate."""
    clock = iter([0.0, 60.0, 110.0, 140.0]).__next__
    progress = training.StepProgress(steps=100, epochs=10, clock=clock)
    progress.display = FakeDisplay()
    progress.on_epoch_begin(2)
    progress.on_train_batch_end(49)  # 50 mini-batches in 60 s: 750 left at 1.2 s
    progress.on_epoch_begin(3)  # at 110 s: epoch 3 and its evaluation took 110 s
    progress.on_train_batch_end(29)  # 130 mini-batches in 140 s; 670 left
    first, second = progress.display.shown
    assert first.endswith("· 60 s · about 1 min 00 s left in this epoch, 15 min until all 10 epochs are done")
    assert second.startswith("epoch 4/10 ") and second.endswith(
        "· 30 s · about 1 min 10 s left in this epoch, 12 min until all 10 epochs are done"
    )


def sgd_run(tiny_data, eta=0.1, epochs=2, hidden=16):
    """A network3 run in the full profile (its hyperparameters recorded), outputs isolated per test."""
    train, val, test = tiny_data
    set_seed(0)
    model = models.network3(models.fully_connected(hidden), models.softmax(2))
    result = training.network3_sgd(
        model,
        "unit-test-kept",
        train=train,
        val=val,
        test=test,
        epochs=epochs,
        eta=eta,
        seed=0,
        profile="full",
    )
    return model, result


def test_an_edited_cell_says_what_differs_how_long_it_trains_and_how_to_get_a_quick_version(
    tiny_data, monkeypatch, capsys, fits
):
    _, committed = sgd_run(tiny_data, eta=0.1)  # the main job
    monkeypatch.delenv(paths.MAIN_JOB_VAR)  # a student's kernel
    capsys.readouterr()
    sgd_run(tiny_data, eta=0.05, epochs=6)
    said, estimate, how = capsys.readouterr().out.splitlines()[:3]
    assert said == (
        "Training unit-test-kept: this run differs from the kept one (results/unit-test-kept.full.json): "
        "epochs 2 → 6; eta 0.1 → 0.05."
    )
    per_epoch = sum(committed["epoch_time_s"]) / 2
    assert estimate == (
        f"It trains 6 epochs: about {training.duration(6 * per_epoch)} ({6} × {per_epoch:.1f} s per epoch, "
        "as the kept run took on this machine)."
    )
    assert 'PROFILE = "quick"' in how and "make lab PROFILE=quick" in how and "Interrupt the kernel" in how
    assert len(fits) == 2


def test_the_estimate_is_timed_by_a_kept_run_on_this_machine_else_on_its_processor():
    xeon = {"run": "a", "device": "CPU: Xeon (1 of 2 cores)", "epoch_time_s": [77.0]}
    epyc_one_core = {"run": "a-seed1", "device": "CPU: EPYC (1 of 2 cores)", "epoch_time_s": [150.0]}
    epyc = {"run": "a-seed2", "device": "CPU: EPYC (2 cores)", "epoch_time_s": [120.0]}
    pick = training._timing_reference
    assert pick([xeon, epyc_one_core, epyc], "CPU: EPYC (2 cores)") is epyc
    assert pick([xeon, epyc_one_core], "CPU: EPYC (2 cores)") is epyc_one_core
    assert pick([xeon], "CPU: EPYC (2 cores)") is xeon
    assert pick([{"run": "untimed"}], "CPU: EPYC (2 cores)") is None


def test_another_seed_with_no_kept_run_says_how_long_it_trains_by_the_seed_0_run(
    tiny_data, monkeypatch, capsys, fits
):
    """The notebooks train seeds 0-2; a seed not kept yet trains, and says so with its cost first; the
    advice on stopping it is for a kernel run by hand, not the main job's log."""
    _, first = full_run(tiny_data, seed=0)
    capsys.readouterr()
    full_run(tiny_data, seed=1)
    lines = capsys.readouterr().out.splitlines()
    per_epoch = sum(first["epoch_time_s"]) / 2
    assert lines[0] == "Training unit-test-kept-seed1: no run of it is kept yet."
    assert lines[1] == (
        f"It trains 2 epochs: about {training.duration(2 * per_epoch)} (2 × {per_epoch:.1f} s per epoch, "
        "as unit-test-kept's kept run took on this machine)."
    )
    assert not any("Interrupt the kernel" in line for line in lines)
    monkeypatch.delenv(paths.MAIN_JOB_VAR)  # a student's kernel
    full_run(tiny_data, seed=2)
    how = capsys.readouterr().out.splitlines()[2]
    assert (
        how.startswith("Interrupt the kernel (■) to stop it: this cell then resumes") and "undoing" not in how
    )
    assert len(fits) == 3


def test_a_run_with_nothing_kept_to_time_it_by_says_how_much_it_trains(tiny_data, monkeypatch, capsys):
    """A student's new experiment name (an exercise under another name): its cost in epochs and images,
    then how to stop it."""
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    capsys.readouterr()
    full_run(tiny_data)
    said, cost, how = capsys.readouterr().out.splitlines()[:3]
    assert said == "Training unit-test-kept: no run of it is kept yet."
    assert cost == f"It trains 2 epochs of {len(tiny_data[0][0]):,} images; nothing kept times them yet."
    assert how.startswith("Interrupt the kernel (■) to stop it")


def test_an_edit_that_turns_shuffling_off_is_named(tiny_data, monkeypatch, capsys, fits):
    full_run(tiny_data, shuffle=True)  # the main job's kept run
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    capsys.readouterr()
    full_run(tiny_data, shuffle=False)
    said = capsys.readouterr().out.splitlines()[0]
    assert said.startswith("Training unit-test-kept: this run differs") and "shuffle" in said
    assert len(fits) == 2


def test_a_resumed_variant_is_timed_by_the_epochs_its_checkpoint_holds(tiny_data, monkeypatch, capsys):
    sgd_run(tiny_data, eta=0.1)  # the committed run
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    save = interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        sgd_run(tiny_data, eta=0.05, epochs=3)
    monkeypatch.setattr(training.EpochEnd, "save", save)
    (checkpoint,) = [p for p in (paths.ROOT / ".interactive" / "checkpoints").iterdir() if p.is_dir()]
    (first,) = json.loads((checkpoint / STATE).read_text())["history"]["epoch_time_s"]
    capsys.readouterr()
    sgd_run(tiny_data, eta=0.05, epochs=3)
    estimate = capsys.readouterr().out.splitlines()[1]
    assert estimate == (
        f"It trains 2 epochs, resuming after epoch 1: about {training.duration(2 * first)} "
        f"(2 × {first:.1f} s per epoch, as its first epoch took on this machine)."
    )


def test_the_estimate_scales_the_kept_epoch_time_and_says_where_it_was_measured():
    kept = {
        "epoch_time_s": [10.0, 12.0],
        "n_train": 50_000,
        "batch_size": 10,
        "device": "CPU: A (1 of 2 cores)",
    }
    settings = {"n_train": 50_000, "epochs": 60, "batch_size": 10}
    here = training.training_estimate(kept, settings, device="CPU: A (1 of 2 cores)")
    assert (
        here
        == "It trains 60 epochs: about 11 min (60 × 11.0 s per epoch, as the kept run took on this machine)."
    )
    elsewhere = training.training_estimate(kept, settings | {"n_train": 25_000}, done=20, device="CPU: B")
    assert elsewhere == (
        "It trains 40 epochs, resuming after epoch 20: about 3 min 40 s (40 × 5.5 s per epoch, "
        "as the kept run took on CPU: A (1 of 2 cores); this machine is CPU: B)."
    )
    assert "a rough guess" in training.training_estimate(kept, settings | {"batch_size": 20}, device="CPU: B")
    one = training.training_estimate(kept, settings | {"epochs": 1}, device="CPU: A (1 of 2 cores)")
    assert one.startswith("It trains 1 epoch: about "), one


def test_a_run_kept_before_key_parts_still_names_other_layers(tiny_data, isolated_outputs, capsys):
    """The committed results carry no key_parts: other weight shapes are found in the kept weights."""
    _, committed = sgd_run(tiny_data)
    path = isolated_outputs / "results" / "unit-test-kept.full.json"
    path.write_text(json.dumps({k: v for k, v in committed.items() if k != "key_parts"}))
    capsys.readouterr()
    sgd_run(tiny_data, hidden=8)
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .endswith(": the model's layers differ (their weights have other shapes).")
    )


def test_each_variant_a_student_trains_and_the_committed_run_load_again_by_their_key(
    tiny_data, isolated_outputs, monkeypatch, capsys, fits
):
    """The edit (eta 0.1 → 0.05), its undo and the edit again: each trains once, then loads."""
    _, committed = sgd_run(tiny_data, eta=0.1)  # the main job's, committed
    monkeypatch.delenv(paths.MAIN_JOB_VAR)  # a student's kernel
    interactive = isolated_outputs / ".interactive"
    _, edited = sgd_run(tiny_data, eta=0.05)
    _, other = sgd_run(tiny_data, eta=0.2)
    assert len(fits) == 3
    capsys.readouterr()
    for eta, expected in ((0.1, committed), (0.05, edited), (0.2, other), (0.1, committed)):
        _, again = sgd_run(tiny_data, eta=eta)
        assert again == expected and len(fits) == 3
        out = capsys.readouterr().out
        assert out.startswith("Loaded unit-test-kept (full)") and "no training" in out
        # the run this kernel's other notebooks read (results.read_result, paths.stored) is the one loaded
        assert json.loads(paths.stored("results", "unit-test-kept.full.json", "full").read_text()) == expected
        weights = paths.stored("models", "unit-test-kept.full.weights.h5", "full")
        assert weights.read_bytes() == (isolated_outputs / expected["weights"]).read_bytes()
    variants = sorted(p.name for p in (interactive / "results").glob("unit-test-kept.*.full.json"))
    assert variants == sorted(f"unit-test-kept.{r['run_key']}.full.json" for r in (edited, other))
    assert json.loads((isolated_outputs / "results" / "unit-test-kept.full.json").read_text()) == committed


def test_a_variant_kept_by_an_older_kernel_is_set_aside_not_lost(
    tiny_data, isolated_outputs, monkeypatch, fits
):
    """Before variants had their own names, a kernel kept its run as .interactive/results/<run>.full.json."""
    _, committed = sgd_run(tiny_data, eta=0.1)
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    _, edited = sgd_run(tiny_data, eta=0.05)
    interactive = isolated_outputs / ".interactive"
    stem = f"unit-test-kept.{edited['run_key']}.full"
    for folder, suffix in (("results", ".json"), ("models", ".weights.h5")):  # as an older kernel left it
        (interactive / folder / f"{stem}{suffix}").unlink()
    sgd_run(tiny_data, eta=0.1)  # the committed run becomes the current one: the older run is set aside
    assert not (interactive / "results" / "unit-test-kept.full.json").exists()
    _, again = sgd_run(tiny_data, eta=0.05)
    assert len(fits) == 2 and again["run_key"] == edited["run_key"]
    assert again["test_accuracy"] == edited["test_accuracy"]


def test_each_variant_resumes_its_own_checkpoint(tiny_data, isolated_outputs, monkeypatch, capsys):
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    save = interrupt_at_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        sgd_run(tiny_data, eta=0.05, epochs=3)
    with pytest.raises(KeyboardInterrupt):
        sgd_run(tiny_data, eta=0.2, epochs=3)
    monkeypatch.setattr(training.EpochEnd, "save", save)
    capsys.readouterr()
    _, result = sgd_run(tiny_data, eta=0.05, epochs=3)
    assert "Resuming unit-test-kept (full) after epoch 1 of 3" in capsys.readouterr().out
    assert len(result["epoch_loss"]) == 3
    (left,) = [p for p in (isolated_outputs / ".interactive" / "checkpoints").iterdir() if p.is_dir()]
    assert json.loads((left / STATE).read_text())["epoch"] == 1  # eta 0.2's, waiting


INTERRUPTED_NOTEBOOK = """
import os, signal
from pathlib import Path

import keras
import numpy as np

from lib import models, paths, training

paths.ROOT = Path({root!r})
paths.QUICK_ROOT = paths.ROOT / ".quick"
rng = np.random.default_rng(0)
x = rng.random((400, 28, 28, 1), dtype=np.float32)
y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(np.int32)
save = training.EpochEnd.save


def save_then_interrupt(self):
    save(self)
    if len(self.history["epoch_loss"]) == 1:
        os.kill(os.getpid(), signal.SIGINT)  # what the kernel's stop button (■) sends


training.EpochEnd.save = save_then_interrupt
"""

INTERRUPTED_CELL = """
model = models.network3(models.fully_connected(16), models.softmax(2))
training.fit(
    model, "unit-test", train=(x[:300], y[:300]), val=(x[300:350], y[300:350]), test=(x[350:], y[350:]),
    epochs=3, batch_size=10, optimizer=keras.optimizers.SGD(0.1), seed=0, profile="quick",
)
"""


def test_an_interrupted_training_in_a_notebook_shows_one_line_and_stops_the_cells(isolated_outputs):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [INTERRUPTED_NOTEBOOK.format(root=str(isolated_outputs)), INTERRUPTED_CELL, "print('after')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    outputs = nb.cells[1].outputs
    (error,) = [o for o in outputs if o.output_type == "error"]
    line = (
        "Interrupted; the checkpoint .quick/checkpoints/unit-test holds epoch 1 of 3: "
        "run the same code again to resume from there."
    )
    assert error.ename == "TrainingInterrupted" and error.traceback == [line]
    shown = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs[:-1])
    assert shown.startswith("Training unit-test (quick)") and "Epoch   1/3" in shown
    assert "mini-batches" not in shown and "Traceback" not in shown  # the progress line is cleared
    assert "Interrupted" not in shown and outputs[-1] is error  # said once, last, in the error's line
    assert nb.cells[2].outputs == []  # as with Run All, the next cells do not run


def test_an_epoch_line_says_what_the_run_measured():
    history = {
        "epoch_loss": [0.5, 0.25],
        "epoch_val_accuracy": [0.9, 0.85],
        "epoch_test_accuracy": [0.8, 0.875],
        "epoch_time_s": [1.25, 2.0],
        "epoch_train_accuracy": [],
    }
    assert training.epoch_parts(history, 1) == [
        "loss 0.5000",
        "validation 90.00%",
        "test 80.00%",
        "1.2 s",
        "best validation so far",
    ]
    assert training.epoch_parts(history, 2) == ["loss 0.2500", "validation 85.00%", "test 87.50%", "2.0 s"]
    assert training.epoch_parts({"epoch_loss": [0.1], "epoch_test_mse": [0.02]}, 1) == [
        "loss 0.1000",
        "test MSE 0.0200",
    ]


def test_a_long_kept_run_shows_its_first_every_tenth_best_and_last_epochs():
    assert training.shown_epochs(12) == list(range(1, 13))
    assert training.shown_epochs(60, best=36) == [1, 2, 3, 10, 20, 30, 36, 40, 50, 60]
    assert training.shown_epochs(101) == [1, 2, 3, *range(10, 101, 10), 101]
