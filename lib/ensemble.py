"""Ensembles of trained networks: class predictions and the plurality vote."""

import numpy as np

from lib.results import write_result
from lib.training import EVAL_BATCH_SIZE


def predict_classes(model, x):
    """Arg-max class of each image in ``x``."""
    return np.argmax(model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0), axis=-1)


def plurality_vote(predictions):
    """The most common class per column of ``predictions`` (nets × images); ties go to the lower class."""
    predictions = np.asarray(predictions)
    n_classes = int(predictions.max()) + 1
    votes = np.apply_along_axis(np.bincount, 0, predictions, minlength=n_classes)
    return np.argmax(votes, axis=0)


def vote_result(experiment, member_results, predicted, labels):
    """The result dict of a plurality vote, written to its results JSON like a training run's."""
    first = member_results[0]
    errors = np.flatnonzero(predicted != labels)
    result = {
        "experiment": experiment,
        "profile": first["profile"],
        "protocol": f"vote of {len(member_results)} runs, seeds "
        + ", ".join(str(r["seed"]) for r in member_results),
        "members": [r["experiment"] for r in member_results],
        "member_test_accuracy": [r["test_accuracy"] for r in member_results],
        "test_accuracy": float(np.mean(predicted == labels)),
        "test_errors": errors.tolist(),
        "best_val_accuracy": None,
        "epochs_run": first["epochs_run"],
        "epoch_test_accuracy": [],
        "wall_time_s": sum(r["wall_time_s"] for r in member_results),
        **{key: first[key] for key in ("n_train", "backend", "device", "versions")},
    }
    write_result(result)
    return result
