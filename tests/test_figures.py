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


def run_with_training(name, epochs=30):
    """A run whose training and test error fall from 30 % to about 4 %, as theano-mlp's."""
    result = run(name, epochs, val=False)
    result["epoch_test_accuracy"] = list(np.linspace(0.70, 0.96, epochs))
    result["epoch_train_accuracy"] = list(np.linspace(0.72, 0.97, epochs))
    result["test_accuracy"] = result["epoch_test_accuracy"][-1]
    return result


def test_a_robust_colour_scale_ignores_one_extreme_pixel():
    weights = np.random.default_rng(0).normal(0, 0.1, (10, 28, 28))
    weights[5, 14, 14] = 50.0
    limit = figures.robust_limit(weights)
    assert limit < 0.5, f"one pixel of 50 set the scale: ±{limit:.2f}"
    fig = figures.weight_grid(weights, [str(d) for d in range(10)], ncols=5)
    low, high = fig.axes[0].images[0].get_clim()
    assert (low, high) == (-limit, limit), f"the images' scale {low:.2f}..{high:.2f} is not ±{limit:.2f}"
    assert fig.axes[-1].get_label() == "<colorbar>" and high < weights.max()


def test_error_curves_label_the_log_axis_in_plain_numbers_and_tell_the_four_curves_apart():
    ours = run_with_training("net")
    fig = figures.error_curves([ours], lecture={"net": ours})  # a lecture log holds the same two lists
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.replace(".", "").isdigit() for label in labels), f"log ticks: {labels}"
    assert {"5", "10", "20"} <= set(labels), f"log ticks: {labels}"
    seen = looks(ax)
    assert len(seen) == len(set(seen)) == 4, seen  # lecture and ours, each test and train
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "reported: test after the last epoch" in legend, legend


def trial(recipe, seed, accuracy, seconds):
    return {"recipe": recipe, "seed": seed, "accuracy": accuracy, "seconds": seconds}


def test_the_speedrun_figure_names_every_seed_and_rings_the_chosen_candidate():
    search = [trial("small", 0, 0.9906, 5.1), trial("wide", 0, 0.9932, 11.4)]
    final = [trial("small", 0, 0.9905, 4.94), trial("small", 1, 0.9901, 5.48)]
    final += [trial("small", 2, 0.9908, 4.594), trial("small", 3, 0.9908, 4.586)]
    fig = figures.time_to_accuracy(search, final, target=0.99, time_goal=5.0, chosen="small")
    top, bottom = fig.axes
    assert "validation" in top.get_ylabel() and "test" in bottom.get_ylabel()
    names = sorted(text.get_text() for text in bottom.texts)
    assert names == ["seed 0", "seed 1", "seeds 2, 3"], names
    ring = next(line for line in top.get_lines() if line.get_label() == "chosen")
    assert (ring.get_xdata()[0], ring.get_ydata()[0]) == (5.1, 99.06)


def summary_row(name, ours, runs, planned, protocol):
    return {
        "notebook": "10" if name == "speedrun" else "05",
        "name": name,
        "published": 0.9904,
        "ours": ours,
        "ours_protocol": protocol,
        "run_test_accuracy": runs,
        "runs_planned": planned,
    }


def test_summary_figures_keep_every_row_and_say_why_one_has_no_runs():
    rows = [
        summary_row("dropout", 0.9955, [0.9955, 0.9950, 0.9958], 3, "the best-validation run of 3"),
        summary_row("speedrun", 0.99054, [0.99054], 1, "mean of 5 seeds, median time"),
        summary_row("later", None, [], 3, None),
    ]
    for draw in (figures.published_vs_ours, figures.runs_against_published):
        ax = draw(rows).axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()][1].startswith("10 speedrun"), draw.__name__
        notes = [text.get_text() for text in ax.texts]
        assert any("mean of 5 seeds" in note for note in notes), f"{draw.__name__}: {notes}"
        assert "not yet measured" in notes, f"{draw.__name__}: {notes}"
