"""What a run ran on (backend, device, versions, its matmul rate), seeds, and the notebook run banner."""

import logging
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata

import keras
import numpy as np

from lib import distribute


def backend():
    """The Keras backend in use (``tensorflow``, ``jax`` or ``torch``)."""
    return keras.backend.backend()


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def accelerators():
    """Names of the GPUs the current backend sees (empty on CPU)."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    if name == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    if name == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def device():
    """A one-line description of the device training runs on: the GPU(s) if any, else the CPU."""
    gpus = accelerators()
    if gpus:
        return f"{len(gpus)}× {gpus[0]}" if len(gpus) > 1 else gpus[0]
    return f"CPU: {_cpu_name()} ({cores()})"


def cores():
    """``2 cores``, or ``1 of 2 cores`` when this process may run on only some of them (``--jobs``)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    total = os.cpu_count()
    return f"{total} cores" if usable == total else f"{usable} of {total} cores"


def matmul_gflops(n=2048, repeats=5):
    """GFLOP/s of an n×n float32 matmul on this process's cores through the Keras backend (best of
    ``repeats`` after a warm-up): the rate a net's arithmetic is compared with (``lab.bench``, 10)."""
    rng = np.random.default_rng(0)
    a, b = (keras.ops.convert_to_tensor(rng.random((n, n), dtype=np.float32)) for _ in range(2))
    keras.ops.convert_to_numpy(keras.ops.matmul(a, b))
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b))
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def versions():
    """Versions of Python and of the packages that decide the numbers."""
    found = {"python": platform.python_version()}
    for package in ("keras", "numpy", backend()):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found


def provenance():
    """What every result records of where and when it was computed: backend, device, versions, time."""
    return {
        "backend": backend(),
        "device": device(),
        "versions": versions(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def set_seed(seed):
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic ops."""
    keras.utils.set_random_seed(seed)
    if backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def set_up(profile, seed):
    """A notebook's set-up: train data-parallel when several GPUs are visible (``lib.distribute``),
    seed everything with ``seed``, keep TensorFlow's Python warnings (retracing notes) out of the
    outputs and print the profile, backend, device and versions. Returns the
    ``Run``, whose ``finish()`` prints the closing line."""
    return Run(profile, seed)


class Run:
    """A notebook's run, from its set-up (``set_up``) to its closing line (``finish``)."""

    def __init__(self, profile, seed):
        self.profile = profile
        self.seed = seed
        self.started = time.perf_counter()
        self.replicas = distribute.enable()
        set_seed(seed)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)  # no retracing notes between results
        print(self.describe())

    def describe(self):
        v = versions()
        return (
            f"profile {self.profile.name} · backend {backend()} {v[backend()]} · Keras {v['keras']} · "
            f"device {device()}"
            + (f" (data-parallel over {self.replicas})" if self.replicas > 1 else "")
            + f" · seed {self.seed} · Python {v['python']} on {sys.platform}"
        )

    def finish(self):
        """Print the closing line that committed outputs carry: profile, backend, device, time."""
        elapsed = time.perf_counter() - self.started
        minutes, seconds = divmod(round(elapsed), 60)
        print(
            f"Executed with profile {self.profile.name} on backend {backend()}, device {device()}, "
            f"in {minutes} min {seconds:02d} s."
        )
        return elapsed
