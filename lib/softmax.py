"""Softmax from scratch: the textbook formula, which overflows, and the max-shifted one, which does not."""

import numpy as np


def naive_softmax(z):
    """exp(z) / Σ exp(z), as written on the slide: exp overflows to inf for large z (inf / inf = nan)."""
    z = np.asarray(z, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)


def stable_softmax(z):
    """The same function computed as exp(z - max z) / Σ exp(z - max z): every exponent is ≤ 0.

    Subtracting a constant from every z multiplies numerator and denominator by the same factor, so
    the result is unchanged; the largest term becomes exp(0) = 1, so the sum is at least 1.
    """
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
