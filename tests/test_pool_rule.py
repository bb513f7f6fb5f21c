import fcntl
import json

import numpy as np

from lab import pool_rule


def fake_train(net, seed, pool, epochs, mnist, log=print):
    shift = 0.001 if pool == "theano" else 0.0
    accuracy = [0.98 + shift + 0.001 * seed] * epochs
    record = {"net": net, "seed": seed, "pool": pool, "epochs": epochs, "epoch_val_accuracy": accuracy}
    return record | {
        "epoch_test_accuracy": accuracy,
        "epoch_time_s": [1.0] * epochs,
        "epoch_loss": [0.1] * epochs,
    }


def test_runs_claimed_by_another_process_are_left_to_it_and_the_report_pairs_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(pool_rule, "train", fake_train)
    monkeypatch.setattr(pool_rule.data, "load_mnist", lambda: None)
    taken = pool_rule.run_path("relu", 1, "keras", 3, tmp_path)
    tmp_path.mkdir(exist_ok=True)
    with open(taken.with_suffix(".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process training it
        pool_rule.run_pairs(["relu"], [0, 1], 3, tmp_path, log=lambda _: None)
    assert not taken.exists()
    assert json.loads(pool_rule.run_path("relu", 1, "theano", 3, tmp_path).read_text())["seed"] == 1
    assert set(pool_rule.pairs(tmp_path)[("relu", 3)]) == {0}  # seed 1's pair is incomplete
    pool_rule.run_pairs(["relu"], [0, 1], 3, tmp_path, log=lambda _: None)
    report = pool_rule.report(tmp_path, last=2)
    assert "| **2 pairs** |" in report and "+0.10 ± 0.00 (+0.10 to +0.10), s.e. 0.00, 2 of 2 > 0" in report


def test_train_records_every_epoch_of_a_small_run():
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 60).astype(np.int32)
    record = pool_rule.train(
        "relu", 0, "theano", 2, ((x[:40], y[:40]), (x[40:50], y[40:50]), (x[50:], y[50:]))
    )
    assert (
        len(record["epoch_val_accuracy"])
        == len(record["epoch_test_accuracy"])
        == len(record["epoch_loss"])
        == 2
    )
    assert record["pool"] == "theano" and record["n_train"] == 40
