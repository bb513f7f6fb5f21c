"""Figures: one ``save_fig`` for every notebook, and the plots the notebooks share."""

import matplotlib.pyplot as plt
import numpy as np

from lib.paths import output_dir


def save_fig(fig, name, profile=None, dpi=120):
    """Save ``fig`` as ``figs/<name>.png`` (quick profile: ``.quick/figs/``) and return the path."""
    path = output_dir("figs", profile) / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def digit_grid(images, labels, ncols=10, title=None, predicted=None):
    """A grid of 28×28 digits, each titled with its label (and prediction, if given)."""
    images = np.asarray(images).reshape(-1, 28, 28)
    nrows = int(np.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 1.05), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=images.max() or 1)
        text = str(labels[i]) if predicted is None else f"{labels[i]}→{predicted[i]}"
        ax.set_title(text, fontsize=8, pad=2)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def accuracy_curves(results, published=None, lecture=None, title=None):
    """Validation and test accuracy per epoch of one or more run results, with the published figures.

    ``published`` maps a label to an accuracy drawn as a dashed horizontal line; ``lecture`` maps a
    label to the per-epoch test accuracies of the lecture's own run, drawn in grey.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in (lecture or {}).items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, 100 * np.array(values), "x-", color="grey", lw=1, ms=4, label=label)
    for result in results:
        epochs = np.arange(1, len(result["epoch_test_accuracy"]) + 1)
        name = result["experiment"]
        line = ax.plot(epochs, 100 * np.array(result["epoch_test_accuracy"]), label=f"{name}: test")
        if result["epoch_val_accuracy"]:
            val = 100 * np.array(result["epoch_val_accuracy"])
            ax.plot(epochs, val, ls=":", color=line[0].get_color(), label=f"{name}: validation")
        best = result["best_epoch"]
        ax.plot(best, 100 * result["test_accuracy"], "o", color=line[0].get_color())
    for label, value in (published or {}).items():
        ax.axhline(100 * value, ls="--", color="grey", lw=1)
        ax.annotate(f"{label}: {100 * value:.2f}%", (1, 100 * value), fontsize=8, va="bottom")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
