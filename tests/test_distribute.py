"""Data parallelism, proven on two logical CPU devices in a fresh Python (a backend's devices are
fixed once it starts): training split over two replicas must give the weights one device gives."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib import distribute

REPO = Path(__file__).resolve().parent.parent

SETUP = {
    "tensorflow": """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
devices = [d.name for d in tf.config.list_logical_devices("CPU")]
""",
    "jax": """
import jax
devices = jax.devices("cpu")
""",
}

TRAIN = """
import json
from pathlib import Path
import numpy as np
from lib import distribute, models, paths, system, training

paths.ROOT, paths.QUICK_ROOT = Path.cwd(), Path.cwd() / ".quick"  # results and checkpoints: tmp_path

def train(experiment):
    system.set_seed(0)
    model = models.network3(models.conv_pool(4, 5), models.fully_connected(20), models.softmax(10))
    rng = np.random.default_rng(0)
    x = rng.random((200, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 200)
    result = training.network3_sgd(
        model, experiment, train=(x, y), val=None, test=(x[:100], y[:100]), epochs=2, eta=0.5,
        seed=0, profile="quick",
    )
    return model.get_weights(), result

one_weights, one = train("dp-one-device")
replicas = distribute.enable(devices)
two_weights, two = train("dp-two-devices")
print(json.dumps({
    "replicas": replicas,
    "replicas_seen_by_training": distribute.replicas(),
    "max_weight_difference": max(float(np.max(np.abs(a - b))) for a, b in zip(one_weights, two_weights)),
    "weights_moved": max(float(np.max(np.abs(a))) for a in two_weights[-2:]),
    "losses": [one["epoch_loss"], two["epoch_loss"]],
}))
"""


def run_on_two_cpus(backend, tmp_path):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(REPO),
    }
    env.pop("LAB_DEVICES", None)
    done = subprocess.run(
        [sys.executable, "-c", SETUP[backend] + TRAIN],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_replicas_train_the_weights_one_device_trains(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (requirements-backends.txt)")
    report = run_on_two_cpus(backend, tmp_path)
    assert report["replicas"] == report["replicas_seen_by_training"] == 2
    assert report["weights_moved"] > 0.01  # the zero-initialised softmax layer was trained
    assert report["max_weight_difference"] < 1e-4, report


def test_one_device_changes_nothing(monkeypatch):
    monkeypatch.delenv("LAB_DEVICES", raising=False)
    assert distribute.enable(devices=["only-one"]) == 1
    assert distribute.replicas() == 1


def test_lab_devices_caps_the_device_count(monkeypatch):
    monkeypatch.setenv("LAB_DEVICES", "1")
    assert distribute.enable(devices=["gpu:0", "gpu:1"]) == 1
    assert distribute.replicas() == 1
