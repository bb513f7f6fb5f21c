import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lib import visualize
from lib.paths import NOTEBOOKS


def test_deprocess_centres_scales_shifts_clips_and_quantises():
    out = visualize.deprocess_image(np.array([[-1.0, 1.0]]) * 7 + 3)
    # centred to [-1, 1], std 1 (+1e-5) → 0.1, +0.5 → [0.4, 0.6], ×255, truncated to 8 bits
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[102, 152]])
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 20.0, (28, 28, 1))
    out = visualize.deprocess_image(x)
    assert out.shape == (28, 28, 1)
    assert abs(out.mean() - 127.5) < 1.5
    assert abs(out.std() - 25.5) < 1.5
    spike = np.zeros((10, 10))
    spike[0, 0] = 1000.0  # far outside 0.5 ± 0.5 after scaling: clipped, not wrapped around
    out = visualize.deprocess_image(spike)
    assert out[0, 0] == 255
    assert out.min() >= 0 and out[1, 1] < 128


def test_deprocess_does_not_modify_its_input():
    x = np.arange(6.0).reshape(2, 3)
    visualize.deprocess_image(x)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))


def test_stitch_places_sixteen_images_row_by_row_with_a_5px_margin():
    images = [np.full((28, 28, 1), k + 1, np.uint8) for k in range(16)]
    canvas = visualize.stitch(images, n=4, margin=5)
    assert canvas.shape == (4 * 28 + 3 * 5, 4 * 28 + 3 * 5, 1) == (127, 127, 1)
    for k in range(16):
        i, j = divmod(k, 4)
        tile = canvas[33 * i : 33 * i + 28, 33 * j : 33 * j + 28]
        assert (tile == k + 1).all(), (k, i, j)
    assert (canvas[28:33] == 0).all() and (canvas[:, 28:33] == 0).all()
    assert canvas.sum() == sum(28 * 28 * (k + 1) for k in range(16))


def test_stitch_leaves_missing_tiles_black():
    canvas = visualize.stitch([np.full((28, 28), 9, np.uint8)] * 3, n=4)
    assert canvas.shape == (127, 127)
    assert (canvas[:28, 66:94] == 9).all() and (canvas[:28, 99:] == 0).all() and (canvas[33:] == 0).all()


def test_keep_strongest_drops_non_positive_and_keeps_the_sixteen_highest():
    losses = [0.0, -1.0, *np.arange(1, 21), -0.5]
    filters = [{"index": i, "loss": float(loss)} for i, loss in enumerate(losses)]
    kept = visualize.keep_strongest(filters, n=16)
    assert [f["loss"] for f in kept] == list(np.arange(20, 4, -1, dtype=float))
    assert all(f["loss"] > 0 for f in kept)
    few = visualize.keep_strongest(filters[:4], n=16)
    assert [f["loss"] for f in few] == [2.0, 1.0]


def tiny_conv():
    """An 8×8 input, one conv layer: filter 0 sums the pixels, filter 1 can never fire (bias -1e6)."""
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu", name="c")])
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[..., 0, 0] = 1.0
    model.get_layer("c").set_weights([kernel, np.array([0.0, -1e6], np.float32)])
    return model


def test_gradient_ascent_raises_the_activation_and_stops_dead_filters():
    results = visualize.gradient_ascent(tiny_conv(), "c", [0, 1], steps=5, step_size=1.0, seed=0)
    alive, dead = results
    assert len(alive["losses"]) == 5 and np.all(np.diff(alive["losses"]) > 0)
    assert alive["image"].shape == (8, 8, 1)
    assert dead["loss"] <= 0 and len(dead["losses"]) == 1
    assert [r["index"] for r in visualize.keep_strongest(results)] == [0]


def test_gradient_steps_are_normalised_to_the_step_size():
    first = visualize.gradient_ascent(tiny_conv(), "c", [0], steps=1, step_size=1.0, seed=3)[0]["image"]
    second = visualize.gradient_ascent(tiny_conv(), "c", [0], steps=2, step_size=1.0, seed=3)[0]["image"]
    step = second - first
    assert np.sqrt(np.mean(step**2)) == pytest.approx(1.0, rel=1e-3)


def test_unsupported_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(NotImplementedError, match="TensorFlow, JAX or PyTorch"):
        visualize.gradient_ascent(tiny_conv(), "c", [0], steps=1)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_gradient_ascent_on_the_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (requirements-backends.txt)")
    code = textwrap.dedent(
        f"""
        import keras, numpy as np
        assert keras.backend.backend() == "{backend}"
        from lib import visualize
        from tests.test_visualize import tiny_conv
        results = visualize.gradient_ascent(tiny_conv(), "c", [0, 1], steps=4, seed=0)
        assert np.all(np.diff(results[0]["losses"]) > 0), results[0]["losses"]
        assert results[1]["loss"] <= 0
        grid, kept = visualize.stitched_filters(results, n=1)
        assert grid.shape == (8, 8, 1) and [r["index"] for r in kept] == [0]
        print("ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=NOTEBOOKS.parent, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
