import numpy as np
import pytest

from lib import baselines

pytest.importorskip("sklearn")


def test_one_hot():
    np.testing.assert_array_equal(baselines.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])


def test_label_ranking_ap_is_one_over_the_rank_of_the_true_class():
    labels = np.array([0, 1, 2])
    assert baselines.label_ranking_ap(labels, np.eye(3)) == 1.0
    second = np.array([[0.5, 0.9, 0.1], [0.9, 0.5, 0.1], [0.9, 0.1, 0.5]])
    assert baselines.label_ranking_ap(labels, second) == pytest.approx(0.5)


def test_lasso_pipeline_is_the_lectures():
    pipeline = baselines.lasso_pipeline()
    names = [name for name, _ in pipeline.steps]
    assert names == ["variance filter", "standard_scale", "estimator"]
    assert pipeline.named_steps["estimator"].alpha == 0.1
    assert pipeline.named_steps["variance filter"].threshold == 0.01
    rng = np.random.default_rng(0)
    x = rng.random((200, 20))
    x[:, :5] = 0.5  # constant pixels are dropped by the variance filter
    y = rng.integers(0, 10, 200)
    pipeline.fit(x, baselines.one_hot(y))
    assert pipeline.named_steps["variance filter"].get_support().sum() == 15
    assert pipeline.predict(x).shape == (200, 10)
