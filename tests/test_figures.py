import matplotlib
import numpy as np

from lib import figures

matplotlib.use("Agg")


def run(name, epochs=5, val=True):
    accuracy = list(np.linspace(0.9, 0.99, epochs))
    return {
        "experiment": name,
        "epoch_test_accuracy": accuracy,
        "epoch_val_accuracy": accuracy if val else [],
        "best_epoch": epochs,
        "test_accuracy": accuracy[-1],
    }


def looks(ax):
    """(colour, line style) of every labelled line on ``ax``."""
    lines = [
        line for line in ax.get_lines() if not line.get_label().startswith("_") and len(line.get_xdata())
    ]
    return [
        (matplotlib.colors.to_hex(line.get_color()), line.get_linestyle(), line.get_marker())
        for line in lines
    ]


def test_no_two_series_of_the_series_figure_look_alike():
    fig = figures.series_curves([run(f"net-{i}") for i in range(23)])
    top = fig.axes[1]
    seen = looks(top)
    assert len(seen) == 23 and len(set(seen)) == 23


def test_no_two_curves_of_a_per_run_figure_look_alike_and_the_dot_is_explained():
    lecture = {"lecture, one": [0.9, 0.95], "lecture, two": [0.91, 0.96]}
    fig = figures.accuracy_curves([run("a"), run("b")], published={"p": 0.99}, lecture=lecture)
    ax = fig.axes[0]
    seen = looks(ax)
    assert len(seen) == len(set(seen)) == 7  # two lectures, two runs × test and validation, published
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "reported: test at the best validation epoch" in labels
    assert "ours, a: test" in labels
