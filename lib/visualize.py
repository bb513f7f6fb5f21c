"""Seeing what a conv net learned: its first-layer kernels, and inputs that excite each filter most.

The gradient ascent follows the lecture's (Keras' ``conv_filter_visualization`` example adapted to
MNIST): start from a noisy image, take 20 steps of size 1 along the gradient of the filter's mean
activation divided by its root mean square, drop filters whose activation stays ≤ 0, keep the 16
strongest and stitch them into a 4×4 grid with a 5-pixel black margin. The input gradient needs the
backend: ``tf.GradientTape`` on TensorFlow, ``jax.grad`` over ``stateless_call`` on JAX, autograd on
PyTorch.
"""

import keras
import matplotlib.pyplot as plt
import numpy as np

GRADIENT_BACKENDS = ("tensorflow", "jax", "torch")


def deprocess_image(x):
    """A float image as 8-bit pixels, as the lecture does: centre on 0, scale the standard deviation to
    0.1, shift to 0.5, clip to [0, 1], times 255."""
    x = np.array(x, dtype=np.float64)
    x -= x.mean()
    x /= x.std() + 1e-5
    x *= 0.1
    x += 0.5
    x = np.clip(x, 0, 1) * 255
    return np.clip(x, 0, 255).astype("uint8")


def stitch(images, n=4, margin=5):
    """The first n·n images (h, w[, c]) on a black canvas, row by row, ``margin`` pixels between them."""
    images = [np.asarray(image) for image in images[: n * n]]
    h, w = images[0].shape[:2]
    canvas = np.zeros((n * h + (n - 1) * margin, n * w + (n - 1) * margin, *images[0].shape[2:]), np.uint8)
    for k, image in enumerate(images):
        i, j = divmod(k, n)
        top, left = (h + margin) * i, (w + margin) * j
        canvas[top : top + h, left : left + w] = image
    return canvas


def keep_strongest(filters, n=16):
    """The ``n`` filter results with the highest final activation, dropping those whose activation is ≤ 0.

    ``filters`` are dicts with a ``loss`` (the filter's mean activation); the order is strongest first.
    """
    alive = [f for f in filters if f["loss"] > 0]
    return sorted(alive, key=lambda f: f["loss"], reverse=True)[:n]


def _gradient_function(feature_model):
    """``f(image, index) -> (mean activation of filter index, its gradient w.r.t. image)`` for the backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def value_and_grad(image, index):
            with tf.GradientTape() as tape:
                tape.watch(image)
                loss = tf.reduce_mean(feature_model(image, training=False)[..., index])
            return loss, tape.gradient(loss, image)

        return lambda image, index: value_and_grad(tf.constant(image, tf.float32), tf.constant(index))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in feature_model.trainable_variables]
        non_trainable = [v.value for v in feature_model.non_trainable_variables]

        def loss_fn(image, index):
            outputs, _ = feature_model.stateless_call(trainable, non_trainable, image, training=False)
            return jnp.mean(outputs[..., index])

        value_and_grad = jax.jit(jax.value_and_grad(loss_fn))
        return lambda image, index: value_and_grad(jnp.asarray(image, jnp.float32), index)
    if backend == "torch":

        def value_and_grad(image, index):
            image = keras.ops.convert_to_tensor(image, "float32").requires_grad_(True)
            loss = feature_model(image, training=False)[..., index].mean()
            loss.backward()
            return loss.detach().cpu(), image.grad.cpu()

        return value_and_grad
    raise NotImplementedError(
        f"gradient ascent on the input needs the TensorFlow, JAX or PyTorch backend, not {backend!r}: "
        f"set KERAS_BACKEND to one of {', '.join(GRADIENT_BACKENDS)}"
    )


def feature_model(model, layer_name):
    """A model from ``model``'s input to the output of its layer ``layer_name``."""
    return keras.Model(model.inputs, model.get_layer(layer_name).output)


def gradient_ascent(model, layer_name, filter_indices, steps=20, step_size=1.0, noise=40.0, seed=0):
    """For each filter, the input image that raises its mean activation most, by normalised gradient ascent.

    Start: uniform noise of width ``noise`` around 0, as the lecture's ``(random - 0.5) * 40``. Each
    step adds ``step_size`` times the gradient divided by its RMS (+1e-5); a filter whose activation is
    ≤ 0 is stopped there (it is stuck). Returns one dict per filter: ``index``, ``loss`` (the last
    activation measured), ``losses`` (all of them) and ``image`` (the raw float image, h × w × c).
    """
    features = feature_model(model, layer_name)
    value_and_grad = _gradient_function(features)
    rng = np.random.default_rng(seed)
    shape = (1, *model.input_shape[1:])
    results = []
    for index in filter_indices:
        image = ((rng.random(shape) - 0.5) * noise).astype(np.float32)
        losses = []
        for _ in range(steps):
            loss, grads = value_and_grad(image, int(index))
            loss, grads = float(loss), np.asarray(grads)
            losses.append(loss)
            image += step_size * grads / (np.sqrt(np.mean(np.square(grads))) + 1e-5)
            if loss <= 0:
                break
        results.append({"index": int(index), "loss": losses[-1], "losses": losses, "image": image[0]})
    return results


def stitched_filters(results, n=4, margin=5):
    """The lecture's picture: the n·n strongest filters' images, deprocessed, in a grid."""
    kept = keep_strongest(results, n * n)
    return stitch([deprocess_image(r["image"]) for r in kept], n=n, margin=margin), kept


def kernel_grid(kernels, ncols=8, title=None):
    """First-layer kernels (k, k, 1, filters) as a grid of small numbered images on one colour scale
    (dark = positive weight), with its colour bar."""
    kernels = np.asarray(kernels)[:, :, 0, :]
    count = kernels.shape[-1]
    nrows = int(np.ceil(count / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9 + 0.8, nrows * 0.95), squeeze=False)
    limit = np.abs(kernels).max()
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < count:
            shown = ax.imshow(kernels[..., i], cmap="gray_r", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=7, pad=2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.colorbar(shown, ax=axes, fraction=0.03, pad=0.02, label="weight")
    return fig


def image_figure(image, title=None, scale=0.03):
    """An 8-bit grey image shown pixel for pixel."""
    fig, ax = plt.subplots(figsize=(image.shape[1] * scale, image.shape[0] * scale))
    ax.imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
