import json

import numpy as np
import pytest

from lib import results


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
    assert (
        "| 01 | 784-100-10 sigmoid" in table
        and "97.80% (test accuracy of the best-validation run of 3) | 97.91% (one run, seed 0) | +0.11 | 60 |"
        in table
    )
    assert "| 00 | Softmax regression" in table and "not yet measured" in table


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
        "its row says 'not yet measured'."
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
