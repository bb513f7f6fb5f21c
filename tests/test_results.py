import json
from pathlib import Path

import numpy as np
import pytest

from lib import data, results


def test_best_epoch_is_one_based_and_ties_go_to_the_later_epoch():
    assert results.best_epoch([0.90, 0.95, 0.93]) == 2
    assert results.best_epoch([0.90, 0.95, 0.95, 0.94]) == 3


def test_reported_accuracy_is_test_at_best_validation_epoch():
    assert results.reported_test_accuracy([0.9, 0.97, 0.96], [0.91, 0.96, 0.98]) == (2, 0.96)


def test_without_validation_the_last_epoch_is_reported():
    assert results.reported_test_accuracy([], [0.91, 0.96, 0.95]) == (3, 0.95)


def test_best_epoch_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        results.best_epoch([])


def test_check_floor_fails_below_the_profile_floor():
    result = {"experiment": "fc-baseline", "profile": "quick", "test_accuracy": 0.5}
    with pytest.raises(AssertionError, match="below the floor of 88.00%"):
        results.check_floor(result, {"quick": 0.88, "full": 0.975})
    results.check_floor({**result, "test_accuracy": 0.9}, {"quick": 0.88, "full": 0.975})


def test_without_a_floor_the_training_loss_must_fall(capsys):
    result = {"experiment": "conv-pool-2", "profile": "quick", "test_accuracy": 0.0875}
    floors = {"quick": None, "full": 0.983}
    results.check_floor({**result, "epoch_loss": [2.3168, 2.3010, 1.3649]}, floors)
    assert "Loss check passed: 2.3168 → 1.3649" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"did not fall \(2.3026 → 2.3026\)"):
        results.check_floor({**result, "epoch_loss": [2.3026, 2.3026]}, floors)


def test_summary_table_reports_results_and_unmeasured_experiments(isolated_outputs):
    result = {
        "experiment": "fc-baseline",
        "protocol": "one run, seed 0",
        "profile": "full",
        "test_accuracy": 0.9791,
        "epochs_run": 60,
        "wall_time_s": 240.0,
        "backend": "tensorflow",
        "device": "CPU",
    }
    path = results.write_result(result)
    assert path == isolated_outputs / "results" / "fc-baseline.full.json"
    assert json.loads(path.read_text())["test_accuracy"] == 0.9791
    table = results.markdown_table(results.summary_rows("full"))
    series = results.summary_rows("full", notebooks=("01", "02"))
    assert [r["name"] for r in series] == ["fc-baseline", "conv-pool-1", "conv-pool-2"]
    assert (
        "| 01 | 784-100-10 sigmoid" in table
        and "97.80% (test accuracy of the best-validation run of 3) | 97.91% (one run, seed 0) | +0.11 "
        "| seed 0 only so far | 60 |"
        in table
    )
    assert "| 00 | Softmax regression" in table and "not yet measured" in table


def seed_run(experiment, seed, val, test, profile="full"):
    """A stored training run of ``experiment`` with ``seed`` (named as the notebooks name it)."""
    result = {
        "experiment": experiment,
        "run": experiment if seed == 0 else f"{experiment}-seed{seed}",
        "seed": seed,
        "protocol": f"one run, seed {seed}",
        "profile": profile,
        "best_val_accuracy": val,
        "best_epoch": 50,
        "test_accuracy": test,
        "epochs_run": 60,
        "wall_time_s": 60.0,
        "backend": "tensorflow",
        "device": "CPU",
    }
    results.write_result(result)
    return result


def test_nielsens_rows_report_the_best_validation_run_of_three_seeds_with_their_spread(isolated_outputs):
    runs = [seed_run("fc-baseline", 0, 0.9790, 0.9762), seed_run("fc-baseline", 1, 0.9801, 0.9771)]
    runs.append(seed_run("fc-baseline", 2, 0.9801, 0.9775))  # ties go to the earlier run: seed 1
    assert results.reported_run("fc-baseline", runs) is runs[1]
    row = {r["name"]: r for r in results.summary_rows("full")}["fc-baseline"]
    assert row["ours"] == 0.9771 and row["gap_pp"] == -0.09 and row["within"] is False
    assert row["seeds"] == "seeds 0–2: mean 97.69%, 97.62–97.75%, n = 3"
    table = results.markdown_table([row])
    assert "97.71% (the best-validation run of 3: seed 1) | -0.09 | seeds 0–2" in table
    assert "published outside our range" in table
    line = results.compare(runs)
    assert (
        "ours 97.71% (test accuracy at the best validation epoch (50 of 60), the best-validation run" in line
    )
    assert line.endswith("n = 3: the published figure lies outside that range")


def test_a_lecture_row_reports_seed_0_and_says_whether_the_lecture_lies_in_the_range(isolated_outputs):
    runs = [seed_run("theano-mlp", s, None, acc) for s, acc in enumerate((0.9559, 0.9580, 0.9566))]
    assert results.reported_run("theano-mlp", runs) is runs[0]
    line = results.compare(runs)
    assert (
        "ours 95.59% (test accuracy after the last epoch (60), seed 0's run, as the lecture made one)" in line
    )
    assert line.endswith("mean 95.68%, 95.59–95.80%, n = 3: the lecture figure lies inside that range")


def test_a_run_the_lecture_stopped_early_is_compared_after_the_same_epoch(isolated_outputs):
    """The lecture stopped 08's convnet after epoch 21 of 100: ours is compared after epoch 21 too."""
    run = seed_run("theano-convnet", 0, None, 0.9950) | {"epochs_run": 100}
    run["epoch_test_accuracy"] = [0.9, *[0.99] * 19, 0.9921, *[0.995] * 79]
    results.write_result(run)
    row = {r["name"]: r for r in results.summary_rows("full")}["theano-convnet"]
    assert row["ours"] == 0.9921 and row["gap_pp"] == -0.09
    assert row["ours_protocol"] == "one run, seed 0, after epoch 21 of 100"
    line = results.compare(run)
    assert "ours 99.21% (test accuracy where the lecture's run stopped, one run, seed 0" in line
    assert line.endswith("gap -0.09 pp")
    short = run | {"epochs_run": 3, "epoch_test_accuracy": [0.9, 0.95, 0.97], "test_accuracy": 0.97}
    assert "ours 97.00% (test accuracy after the last epoch (3)" in results.compare(short)


def test_the_dropout_row_reports_seeds_0_to_2_as_the_book_and_all_five_beside(isolated_outputs):
    vals, tests = (0.9957, 0.9964, 0.9960, 0.9964, 0.9967), (0.9953, 0.9955, 0.9958, 0.9966, 0.9950)
    for i, (val, test) in enumerate(zip(vals, tests, strict=True)):
        name = f"dropout-{i + 1}"  # 05's five nets: each its own experiment name
        results.write_result(seed_run("x", i, val, test) | {"experiment": name, "run": name})
    row = {r["name"]: r for r in results.summary_rows("full")}["dropout"]
    assert row["ours"] == 0.9955
    assert row["ours_protocol"] == "the best-validation run of 3: seed 1; of all 5: 99.50%, seed 4"
    assert row["seeds"].endswith("n = 5") and row["within"] is True


def test_quick_results_never_land_in_the_committed_folder(isolated_outputs):
    path = results.write_result({"experiment": "fc-baseline", "profile": "quick"})
    assert path == isolated_outputs / ".quick" / "results" / "fc-baseline.quick.json"


def test_best_validation_run_reports_the_test_accuracy_of_the_best_validated_run(isolated_outputs):
    runs = [
        {
            "experiment": f"net-{i}",
            "profile": "quick",
            "seed": i,
            "best_val_accuracy": val,
            "test_accuracy": test,
            "wall_time_s": 10.0,
            "run_key": f"k{i}",
        }
        for i, (val, test) in enumerate([(0.990, 0.995), (0.993, 0.991), (0.993, 0.999)])
    ]
    result = results.best_validation_run("net", runs)
    assert (result["selected_run"], result["test_accuracy"]) == ("net-1", 0.991)  # not the best test
    assert result["protocol"] == "best validation of 3 runs, seeds 0, 1, 2"
    assert result["run_test_accuracy"] == [0.995, 0.991, 0.999] and result["wall_time_s"] == 30.0
    assert "run_key" not in result and results.read_result("net", "quick") == result


def test_vote_result_is_recorded(isolated_outputs):
    members = [
        {
            "experiment": f"dropout-{i}",
            "profile": "quick",
            "seed": i,
            "test_accuracy": 0.9,
            "epochs_run": 3,
            "wall_time_s": 10.0,
            "n_train": 100,
            "backend": "tensorflow",
            "device": "CPU",
            "versions": {},
        }
        for i in range(3)
    ]
    result = results.vote_result("dropout-ensemble", members, np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4]))
    assert result["test_accuracy"] == 0.75 and result["test_errors"] == [2]
    assert result["protocol"] == "vote of 3 runs, seeds 0, 1, 2" and result["wall_time_s"] == 30.0
    stored = isolated_outputs / ".quick" / "results" / "dropout-ensemble.quick.json"
    assert json.loads(stored.read_text()) == result


def test_figures_of_a_kernel_run_by_hand_never_replace_the_committed_ones(isolated_outputs, monkeypatch):
    import matplotlib.pyplot as plt

    from lib import figures

    monkeypatch.delenv("LAB_MAIN_JOB")
    path = figures.save_fig(plt.figure(), "00_example", "full")
    assert path == isolated_outputs / ".interactive" / "figs" / "00_example.png"


@pytest.mark.parametrize(
    "stored, missing",
    [
        ({"test_accuracy": 0.98}, "lacks protocol, epochs_run, wall_time_s, backend, device"),
        (
            {
                "test_accuracy": "98%",
                "protocol": "p",
                "epochs_run": 1,
                "wall_time_s": 1.0,
                "backend": "b",
                "device": "d",
            },
            "test_accuracy is not a number",
        ),
    ],
    ids=["incomplete", "not a number"],
)
def test_a_result_the_table_cannot_show_is_named_and_its_row_skipped(
    isolated_outputs, capsys, stored, missing
):
    path = results.write_result({"experiment": "fc-baseline", "profile": "full", **stored})
    rows = {row["name"]: row for row in results.summary_rows("full")}
    assert rows["fc-baseline"]["ours"] is None
    assert "not yet measured" in results.markdown_table(list(rows.values()))
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"Warning: results/{path.name} {missing}; restore it with git checkout or run its notebook again; "
        "the table leaves that run out."
    ]


def test_compare_names_a_lecture_transcript_as_such():
    """00, 07 and 08 compare with the lecture's own run, not a publication (issue 11, item 8)."""
    ours = {"test_accuracy": 0.9249, "epochs_run": 101, "protocol": "one run, seed 0", "profile": "full"}
    lecture = results.compare({**ours, "experiment": "softmax-regression"})
    assert lecture.startswith("Lecture 92.47% (") and "lecture transcript" in lecture
    assert results.compare({**ours, "experiment": "relu"}).startswith("Published 99.23% (")


def test_compare_and_the_table_give_a_fraction_of_an_epoch_as_such():
    """The speedrun sees 40,000 of 60,000 images: 0.67 of an epoch, not 1."""
    speedrun = {"test_accuracy": 0.9905, "epochs_run": 0.67, "protocol": "mean of 5 seeds", "profile": "full"}
    speedrun["experiment"] = "speedrun"
    assert "test accuracy after 0.67 of an epoch" in results.compare(speedrun)
    assert "after the last epoch (2)" in results.compare({**speedrun, "epochs_run": 2.0})
    assert "after 1.5 epochs" in results.compare({**speedrun, "epochs_run": 1.5})
    row = {"notebook": "10", "experiment": "x", "published": 0.99, "protocol": "p", "ours": 0.9905}
    row |= {"ours_protocol": "q", "gap_pp": 0.05, "epochs": 0.67, "wall_time_s": 3.8}
    row |= {"backend": "b", "device": "d"}
    assert "| 0.67 |" in results.markdown_table([row])


def test_the_reported_line_names_the_chosen_run_and_every_run_s_validation():
    runs = [
        {"seed": s, "best_val_accuracy": v, "test_accuracy": t, "best_epoch": e}
        for s, v, t, e in ((0, 0.9880, 0.9870, 55), (1, 0.9899, 0.9883, 60))
    ]
    assert results.reported_line(runs[1], runs) == (
        "reported: seed 1's run, test 98.83% at epoch 60 (best validation: seed 0 98.80%, seed 1 98.99%)"
    )


def test_a_row_without_a_published_figure_says_why_it_is_unmeasured_and_compares_with_nothing(
    isolated_outputs, monkeypatch
):
    """11's CIFAR-10 CNN: the notes print no accuracy, and its full profile needs CIFAR-10."""
    monkeypatch.setattr(data, "cifar10_location", lambda path=None: None)
    (row,) = results.summary_rows("full", notebooks=("11",))
    assert row["published"] is None and row["ours"] is None
    table = results.markdown_table([row])
    assert "| none (lecture notes, code only) | not measured here (no CIFAR-10 on this machine) |" in table
    monkeypatch.setattr(data, "cifar10_location", lambda path=None: Path("cifar-10-batches-py"))
    assert "| none (lecture notes, code only) | not yet measured |" in results.markdown_table(
        results.summary_rows("full", notebooks=("11",))
    )
    run = seed_run("cifar10-cnn", 0, None, 0.7123)
    (row,) = results.summary_rows("full", notebooks=("11",))
    assert row["ours"] == 0.7123 and row["gap_pp"] is None and row["within"] is None
    assert "| 71.23% (one run, seed 0) | — | — | 60 |" in results.markdown_table([row])
    line = results.compare(run)
    assert line.startswith("No published figure (the convolutional-networks notes' PyTorch example")
    assert (
        "ours 71.23% (test accuracy after the last epoch (60), one run, seed 0)" in line and "gap" not in line
    )
