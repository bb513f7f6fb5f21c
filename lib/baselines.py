"""Baselines without training: the lecture's "most similar image" classifier."""

import numpy as np


def lecture_distance(queries, references):
    """The lecture's distance, ``sqrt(sum(a - b) ** 2)``: the bug sums before squaring, so it only
    compares how much ink two images have. Returns a (queries, references) matrix."""
    q = queries.reshape(len(queries), -1).sum(axis=1, dtype=np.float64)
    r = references.reshape(len(references), -1).sum(axis=1, dtype=np.float64)
    return np.abs(q[:, None] - r[None, :])


def euclidean_distance(queries, references):
    """The fixed distance, ``sqrt(sum((a - b) ** 2))``, for all pairs at once."""
    q = queries.reshape(len(queries), -1).astype(np.float64)
    r = references.reshape(len(references), -1).astype(np.float64)
    squared = (q**2).sum(1)[:, None] + (r**2).sum(1)[None, :] - 2.0 * q @ r.T
    return np.sqrt(np.maximum(squared, 0.0))


def most_similar_label(queries, references, reference_labels, distance=euclidean_distance, chunk=500):
    """Label of the nearest reference image for each query (1-nearest neighbour)."""
    labels = [
        reference_labels[np.argmin(distance(queries[i : i + chunk], references), axis=1)]
        for i in range(0, len(queries), chunk)
    ]
    return np.concatenate(labels)


def lasso_pipeline(alpha=0.1, max_iter=2000, variance_threshold=0.01):
    """The lecture's scikit-learn pipeline: drop near-constant pixels, standardise, Lasso regression.

    Fitted on one-hot labels, it predicts one score per class (a linear regression, not a classifier).
    """
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.linear_model import Lasso
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("variance filter", VarianceThreshold(threshold=variance_threshold)),
            ("standard_scale", StandardScaler()),
            ("estimator", Lasso(alpha=alpha, max_iter=max_iter)),
        ]
    )


def one_hot(labels, num_classes=10):
    """Integer labels as a (n, num_classes) 0/1 matrix."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]


def label_ranking_ap(labels, scores):
    """scikit-learn's label-ranking average precision of per-class ``scores`` for integer ``labels``.

    With one true class per image it is the mean of 1 / (rank of the true class): 1.0 when the true
    class always scores highest.
    """
    from sklearn.metrics import label_ranking_average_precision_score

    scores = np.asarray(scores)
    return float(label_ranking_average_precision_score(one_hot(labels, scores.shape[1]), scores))
