"""Data parallelism: the model replicated on several devices, each mini-batch split among them.

When more than one GPU is visible, ``enable()`` (called by every notebook's ``system.set_up``) hands
training to the backend's own distribution API: TensorFlow's ``tf.distribute.MirroredStrategy``,
made the default strategy so that models built afterwards are mirrored, or Keras'
``keras.distribution.DataParallel`` on JAX. Gradients are averaged over the replicas, so a step
computes what one device computes on the whole mini-batch. ``$LAB_DEVICES`` caps the number of
devices (``LAB_DEVICES=1``: one device). Keras has no such API for PyTorch: it trains on one device.
"""

import os

import keras

ENV_VAR = "LAB_DEVICES"


def gpus():
    """The GPUs the Keras backend sees, as the names its distribution API takes."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [device.name for device in tf.config.list_logical_devices("GPU")]
    if backend == "jax":
        import jax

        return [device for device in jax.devices() if device.platform == "gpu"]
    return []


def enable(devices=None):
    """Train data-parallel over ``devices`` (default: every GPU), at most ``$LAB_DEVICES`` of them.

    Call it before building the models. Returns the number of replicas (1: nothing was changed).
    """
    devices = list(gpus() if devices is None else devices)
    if os.environ.get(ENV_VAR):
        devices = devices[: max(1, int(os.environ[ENV_VAR]))]
    backend = keras.backend.backend()
    if len(devices) < 2 or backend not in ("tensorflow", "jax"):
        return 1
    if backend == "tensorflow":
        import tensorflow as tf

        tf.distribute.experimental_set_strategy(tf.distribute.MirroredStrategy(devices))
    else:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


def replicas():
    """How many devices each mini-batch is split over (1 without data parallelism)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    if backend == "jax":
        distribution = keras.distribution.distribution()
        return distribution.device_mesh.devices.size if distribution else 1
    return 1


def check_batch_size(batch_size):
    """Raise ``ValueError`` if JAX cannot split ``batch_size`` evenly over the replicas."""
    n = replicas()
    if keras.backend.backend() == "jax" and batch_size % n:
        raise ValueError(
            f"mini-batch {batch_size} does not split evenly over {n} devices: "
            f"set {ENV_VAR} to a divisor of {batch_size} (e.g. {ENV_VAR}=1)"
        )
