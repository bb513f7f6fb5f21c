import json

import numpy as np

from lib import ensemble


def test_plurality_vote_takes_the_most_common_class_and_lower_class_on_ties():
    votes = np.array([[1, 2, 3, 0], [1, 5, 4, 9], [7, 5, 3, 9], [1, 2, 4, 0]])
    np.testing.assert_array_equal(ensemble.plurality_vote(votes), [1, 2, 3, 0])


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
    result = ensemble.vote_result("dropout-ensemble", members, np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4]))
    assert result["test_accuracy"] == 0.75 and result["test_errors"] == [2]
    assert result["protocol"] == "vote of 3 runs, seeds 0, 1, 2" and result["wall_time_s"] == 30.0
    stored = isolated_outputs / ".quick" / "results" / "dropout-ensemble.quick.json"
    assert json.loads(stored.read_text()) == result
