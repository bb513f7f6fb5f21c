import keras
import numpy as np
import pytest

from lib import softmax


def test_naive_softmax_overflows_for_large_inputs():
    assert np.isnan(softmax.naive_softmax([1000.0, 1001.0, 1002.0])).all()
    assert np.isnan(softmax.naive_softmax([-1000.0, -999.0])).all()  # 0 / 0
    # float32: exp overflows just above 88.7
    assert np.isfinite(softmax.naive_softmax([88.0, 0.0])).all()
    assert not np.isfinite(softmax.naive_softmax([90.0, 0.0])).all()


def test_stable_softmax_equals_keras_softmax():
    rng = np.random.default_rng(0)
    for scale in (1.0, 100.0, 1e4):
        z = (rng.normal(size=(5, 10)) * scale).astype(np.float32)
        expected = keras.ops.convert_to_numpy(keras.ops.softmax(z, axis=-1))
        np.testing.assert_allclose(softmax.stable_softmax(z), expected, atol=1e-6)
        np.testing.assert_allclose(softmax.stable_softmax(z).sum(axis=-1), 1.0, rtol=1e-5)


def test_both_agree_where_the_naive_one_works():
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(softmax.naive_softmax(z), softmax.stable_softmax(z), rtol=1e-6)
    assert softmax.stable_softmax([1000.0, 1001.0, 1002.0]) == pytest.approx(
        [0.0900, 0.2447, 0.6652], abs=1e-4
    )
