"""Notebook 07's gradient ascent on the input, on every backend: its functions, taken from the notebook,
give on a small net with fixed weights what they give on TensorFlow.

Each backend runs in a Python of its own (Keras picks its backend once per process); a backend that
is not installed is skipped (PyTorch is not in requirements.txt: ``pip install -r
requirements-backends.txt`` runs its branch).
"""

import ast
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lib.paths import NOTEBOOKS, ROOT

NOTEBOOK = NOTEBOOKS / "07_filter_visualisation.ipynb"
FUNCTIONS = ("filter_loss", "input_gradient", "gradient_ascent")

# On a 10×10 input: a ReLU convolution, then a tanh one; each filter's mean activation and its
# gradient with respect to the image, and three steps of gradient ascent for each filter.
SCRIPT = """
import json, sys
import keras
import numpy as np

exec(sys.stdin.read())
rng = np.random.default_rng(7)
model = keras.Sequential(
    [
        keras.Input((10, 10, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="a"),
        keras.layers.Conv2D(3, 3, activation="tanh", name="b"),
    ]
)
model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
features = keras.Model(model.inputs, model.get_layer("b").output)
value_and_grad = input_gradient(features)
image = rng.normal(0, 1, (1, 10, 10, 1)).astype("float32")
out = {"backend": keras.backend.backend(), "values": [], "gradients": []}
for index in range(3):
    value, gradient = value_and_grad(image.copy(), index)
    out["values"].append(float(value))
    out["gradients"].append(np.asarray(gradient).tolist())
ascent = gradient_ascent(model, "b", range(3), steps=3, step_size=0.5, noise=2.0, seed=1)
out["losses"] = [r["losses"] for r in ascent]
out["images"] = [r["image"].tolist() for r in ascent]
print(json.dumps(out))
"""


def notebook_functions():
    """The source of the notebook's ``FUNCTIONS``, as they stand in its cells."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    found = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell with IPython syntax defines none of them
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS:
                found[node.name] = ast.get_source_segment(source, node)
    assert sorted(found) == sorted(FUNCTIONS), f"notebook 07 no longer defines {FUNCTIONS}"
    return "\n\n".join(found[name] for name in FUNCTIONS)


def gradients_on(backend):
    """What the notebook's functions give on ``backend``, from a Python of its own."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=notebook_functions(),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend
    return out


@pytest.fixture(scope="module")
def on_tensorflow():
    return gradients_on("tensorflow")


@pytest.mark.parametrize("backend, module", [("torch", "torch"), ("jax", "jax")])
def test_the_input_gradient_of_each_backend_is_tensorflows(backend, module, on_tensorflow):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (requirements-backends.txt installs it)")
    reference, ours = on_tensorflow, gradients_on(backend)
    assert any(np.abs(reference["gradients"][i]).max() > 1e-3 for i in range(3)), "a gradient to compare"
    np.testing.assert_allclose(ours["values"], reference["values"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours["gradients"], reference["gradients"], rtol=1e-3, atol=1e-6)
    for theirs, mine in zip(reference["losses"], ours["losses"], strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(ours["images"], reference["images"], rtol=1e-3, atol=1e-4)
