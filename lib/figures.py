"""Figures: one ``save_fig`` for every notebook, and the plots the notebooks share."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from lib.paths import output_dir


def _finish(fig, ax, title, grid=None, legend="lower right"):
    """Grid, legend (two columns when it is long; ``legend="outside"``: one column right of the
    axes, ``"below"``: in a row under them, where it covers nothing) and title, the same on every
    plot."""
    ax.grid(alpha=0.3, **(grid or {}))
    entries = len(ax.get_legend_handles_labels()[0])
    if entries and legend == "outside":
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    elif entries and legend == "below":
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(entries, 3))
    elif entries:
        ax.legend(fontsize=8, loc=legend, ncol=2 if entries > 4 else 1)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def save_fig(fig, name, profile=None, dpi=120):
    """Save ``fig`` as ``figs/<name>.png`` of ``lib.paths.output_root`` and return the path."""
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


def robust_limit(values, q=99.5):
    """Half-width of a colour scale centred on 0 that holds ``q`` % of ``|values|``: the few values
    beyond it saturate instead of setting the scale and paling all the others."""
    return float(np.percentile(np.abs(values), q))


def weight_grid(images, titles, ncols, title=None, cmap="RdBu", red=(), size=1.0):
    """Weight images (n, h, w), each under its title (those of the ``red`` indices in red), on one
    colour scale centred on 0 (``robust_limit``), with a colour bar whose ends point where values
    lie beyond the scale."""
    images = np.asarray(images)
    nrows = -(-len(images) // ncols)
    limit = robust_limit(images)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * size + 1.2, nrows * size * 1.2 + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            shown = ax.imshow(images[i], cmap=cmap, vmin=-limit, vmax=limit)
            ax.set_title(titles[i], fontsize=9, pad=3, color="firebrick" if i in red else "black")
    beyond = ("neither", "min", "max", "both")[(images.min() < -limit) + 2 * (images.max() > limit)]
    fig.colorbar(shown, ax=axes, shrink=0.9, label="weight", extend=beyond)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plain_log_ticks(axis, subs=(1, 2, 5)):
    """Ticks of a log ``axis`` (``ax.yaxis``) at 1, 2 and 5 times the powers of ten, labelled as plain
    numbers (30, 0.5, not 3×10¹), without minor ticks."""
    axis.set_major_locator(matplotlib.ticker.LogLocator(subs=subs))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(matplotlib.ticker.NullLocator())


def epoch_line(ax, values, *style, scale=100, **kwargs):
    """Draw per-epoch ``values`` (times ``scale``) against epochs 1, 2, ... on ``ax``; the line."""
    values = scale * np.asarray(values, dtype=float)
    return ax.plot(np.arange(1, len(values) + 1), values, *style, **kwargs)[0]


def epoch_axis(ax, ylabel, **settings):
    """An epoch x axis with whole-number ticks, ``ylabel`` and any other ``ax.set`` settings."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=ylabel, **settings)


OURS = ("tab:blue", "tab:green", "tab:purple", "tab:cyan")  # our runs on a per-run plot
LECTURE = ("tab:orange", "tab:red", "tab:brown")  # the lecture's own runs beside them, with crosses
LECTURE_STYLE = {"marker": "x", "lw": 1, "ms": 4, "alpha": 0.8}


def reported_dot(ax, result, color, error=False):
    """The filled dot at ``result``'s reported figure (its test accuracy, or error, at ``best_epoch``);
    returns its legend label, which says how that epoch was picked."""
    accuracy = result["test_accuracy"]
    ax.plot(result["best_epoch"], 100 * (1 - accuracy if error else accuracy), "o", color=color, ms=6)
    if result["epoch_val_accuracy"]:
        return "reported: test at the best validation epoch"
    return "reported: test after the last epoch"


def series_styles(n):
    """``n`` distinct (colour, line style) pairs: the ten colours of matplotlib's cycle, solid, then
    dashed, dash-dotted and dotted, so that no two series of a plot (up to 40) look alike."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return [(colours[i % len(colours)], ("-", "--", "-.", ":")[i // len(colours) % 4]) for i in range(n)]


def accuracy_curves(results, published=None, lecture=None, title=None, labels=None):
    """Test accuracy per epoch (validation dotted) of one or more run results, with the published
    figures and the reported epoch marked.

    ``published`` maps a label to an accuracy drawn as a horizontal line; ``lecture`` maps a label to
    the per-epoch test accuracies of the lecture's own run, drawn in warm colours with crosses;
    ``labels`` names the results in the legend (default: "ours" for one result, else their experiment
    names). A filled dot marks each run's reported figure (``reported_dot``): the test accuracy at its
    best validation epoch, or after its last epoch when it has no validation set. The published
    lines always lie inside the frame.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for (label, values), color in zip((lecture or {}).items(), LECTURE, strict=False):
        epoch_line(ax, values, color=color, label=label, **LECTURE_STYLE)
    names = labels or (["ours"] if len(results) == 1 else [f"ours, {r['experiment']}" for r in results])
    reported = []
    for i, (result, name) in enumerate(zip(results, names, strict=True)):
        color = OURS[i % len(OURS)]
        epoch_line(ax, result["epoch_test_accuracy"], color=color, label=f"{name}: test")
        if result["epoch_val_accuracy"]:
            epoch_line(ax, result["epoch_val_accuracy"], ls=":", color=color, label=f"{name}: validation")
        reported.append(reported_dot(ax, result, color))
    for label in dict.fromkeys(reported):
        ax.plot([], [], "o", color="dimgrey", ms=6, label=label)
    for (label, value), style in zip((published or {}).items(), ["--", "-.", ":"], strict=False):
        ax.axhline(100 * value, ls=style, color="black", lw=1, label=f"{label}: {100 * value:.2f}%")
    if published:
        low, high = ax.get_ylim()
        ax.set_ylim(low, max(high, 100 * max(published.values()) + 0.06 * (high - low)))
    epoch_axis(ax, "accuracy (%)")
    return _finish(fig, ax, title)


def series_curves(results, title=None, zoom=(98.5, 99.8)):
    """Test accuracy per epoch of several experiments: the whole range as error on a log scale (left),
    and the top of the scale, ``zoom`` in %, on a linear one (right); every series has its own
    colour and line style (``series_styles``).

    Results that are ``None`` (never run) or have no per-epoch accuracies (the speedrun) are skipped.
    """
    results = [r for r in results if r and r.get("epoch_test_accuracy")]
    fig, (whole, top) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.25]})
    for result, (color, style) in zip(results, series_styles(len(results)), strict=True):
        accuracy = np.asarray(result["epoch_test_accuracy"], dtype=float)
        epoch_line(whole, 1 - accuracy, color=color, ls=style, lw=1.3)
        epoch_line(top, accuracy, color=color, ls=style, lw=1.3, label=result["experiment"])
    epoch_axis(whole, "test error (%), log scale", yscale="log", title="every epoch, the whole range")
    whole.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([0.3, 0.5, 1, 2, 5, 10, 20, 50, 100]))
    whole.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    whole.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    whole.grid(alpha=0.3, which="both")
    epoch_axis(top, "test accuracy (%)", ylim=zoom, title=f"zoomed on {zoom[0]}–{zoom[1]} %")
    if title:
        fig.suptitle(title)
    return _finish(fig, top, None, legend="outside")


def _row_note(ax, text, x, y, color="dimgrey"):
    """``text`` in small type right of (``x``, ``y``): why a row of a summary figure has no dots."""
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}
    ax.annotate(text, (x, y), xytext=(8, -3), textcoords="offset points", fontsize=8, color=color, bbox=box)


def published_vs_ours(rows, title=None):
    """Test error rate per experiment on a log scale: the published (or lecture) figure, each of our
    runs (one dot per seed) and the one we report (``lib.results.reported_run``), on two lines a
    row apart so that none hides another.

    ``rows`` are ``lib.results.summary_rows`` dicts; experiments we have not measured are marked so.
    The speedrun's one result is the mean of its seeds, not a run: it has the reported dot only,
    with a note that says so.
    """
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.4))
    labels = [f"{r['notebook']} {r['name']}" for r in rows]
    y = np.arange(len(rows))[::-1].astype(float)
    published = [100 * (1 - r["published"]) for r in rows]
    ax.plot(published, y + 0.17, "s", color="black", ms=6, label="published (or lecture)")
    for yi, r in zip(y, rows, strict=True):
        if r["ours"] is None:
            _row_note(ax, "not yet measured", 100 * (1 - r["published"]), yi - 0.17, color="firebrick")
            continue
        ours = 100 * (1 - r["ours"])
        if r["name"] == "speedrun":
            _row_note(ax, f"ours: {r['ours_protocol']}", ours, yi - 0.17)
        else:
            runs = [100 * (1 - acc) for acc in r.get("run_test_accuracy", [])]
            ax.plot(runs, [yi - 0.17] * len(runs), "o", mfc="none", color="tab:blue", ms=7, alpha=0.8)
        ax.plot(ours, yi - 0.17, "o", color="tab:blue", ms=5)
    ax.plot([], [], "o", mfc="none", color="tab:blue", label="ours, each run (seed)")
    ax.plot([], [], "o", color="tab:blue", ms=5, label="ours, reported (the table's protocol)")
    ax.set(xscale="log", yticks=y, yticklabels=labels, xlabel="test error (%), log scale")
    ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    ticks = [0.2, 0.3, 0.5, 0.7, 1, 2, 3, 5, 7, 10]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    return _finish(fig, ax, title, grid={"which": "major", "axis": "x"}, legend="below")


def runs_against_published(rows, title=None):
    """Each of our runs' test accuracy minus the published (or lecture) figure, in points, one row per
    experiment: a dot per run (seed), the reported run filled; the published figure is the line at 0.
    A gap whose dots lie on both sides of 0 is within our runs' spread.

    ``rows`` are ``lib.results.summary_rows`` dicts. The vote and the speedrun are one result each
    (the speedrun's a mean of its own seeds): their reported dot has a note that says so; an
    unmeasured experiment keeps its row, marked so.
    """
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows, strict=True):
        if r["ours"] is None:
            _row_note(ax, "not yet measured", 0, yi, color="firebrick")
            continue
        if r.get("runs_planned", 1) == 1:
            gap = 100 * (r["ours"] - r["published"])
            ax.plot(gap, yi, "o", color="tab:blue", ms=5)
            _row_note(ax, f"one result: {r['ours_protocol']}", gap, yi)
            continue
        gaps = [100 * (acc - r["published"]) for acc in r["run_test_accuracy"]]
        ax.plot(gaps, [yi] * len(gaps), "o", mfc="none", color="tab:blue", ms=8)
        ax.plot(100 * (r["ours"] - r["published"]), yi, "o", color="tab:blue", ms=5)
        ax.annotate(
            f"n = {len(gaps)}",
            (1.0, yi),
            xycoords=("axes fraction", "data"),
            xytext=(4, -3),
            textcoords="offset points",
            fontsize=8,
            color="dimgrey",
        )
    ax.axvline(0, color="black", lw=1.2, label="published (or lecture) figure")
    ax.plot([], [], "o", mfc="none", color="tab:blue", ms=8, label="ours, each run (seed)")
    ax.plot([], [], "o", color="tab:blue", ms=5, label="ours, reported")
    labels = [f"{r['notebook']} {r['name']} ({100 * r['published']:.2f}%)" for r in rows]
    ax.set(yticks=y, yticklabels=labels, xlabel="our test accuracy − published (percentage points)")
    if rows:
        ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    else:
        ax.text(0.5, 0.5, "no experiment measured yet", transform=ax.transAxes, ha="center")
    return _finish(fig, ax, title, grid={"axis": "x"}, legend="below")


def reconstruction_pairs(inputs, outputs, title=None):
    """The images in the top row, their reconstructions under them."""
    inputs, outputs = np.asarray(inputs).reshape(-1, 28, 28), np.asarray(outputs).reshape(-1, 28, 28)
    fig, axes = plt.subplots(2, len(inputs), figsize=(1.1 * len(inputs), 2.6), squeeze=False)
    for row, pictures in zip(axes, (inputs, outputs), strict=True):
        for ax, picture in zip(row, pictures, strict=True):
            ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("output", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def loss_curves(series, ylabel="loss", reference=None, title=None):
    """Per-epoch curves: ``series`` maps a label to values; ``reference`` maps a label to a dashed line."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in series.items():
        epoch_line(ax, values, "o-", scale=1, ms=3, label=label)
    for label, value in (reference or {}).items():
        ax.axhline(value, ls="--", color="black", lw=1, label=f"{label}: {value:.4f}")
    epoch_axis(ax, ylabel)
    return _finish(fig, ax, title, legend="best")


def error_curves(results, lecture=None, title=None):
    """Training and test error (%) per epoch, one panel per run, as Radford's tutorial plots them, on
    a log scale labelled in plain numbers.

    ``results`` are run results with ``epoch_train_accuracy`` (``fit(..., measure_train=True)``);
    ``lecture`` maps an experiment name to the lecture run's log (``lib.experiments.lecture_log``),
    drawn on that run's panel in the lecture's warm colours with crosses (test orange, train red).
    Ours: test blue, train green; a filled dot marks the reported figure. One legend under the
    panels. An epoch without errors has no place on the log scale: it is left as a gap, counted in a
    note on its panel.
    """
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        name = result["experiment"]
        log = (lecture or {}).get(name)
        for split, color in zip(("test", "train"), LECTURE, strict=False):
            if log:
                errors = 1 - np.array(log[f"epoch_{split}_accuracy"])
                epoch_line(ax, errors, color=color, label=f"lecture: {split}", **LECTURE_STYLE)
        for split, color in zip(("test", "train"), OURS, strict=False):
            errors = 1 - np.array(result[f"epoch_{split}_accuracy"])
            gaps = np.where(errors > 0, errors, np.nan)
            epoch_line(ax, gaps, "o-", ms=2, color=color, label=f"ours: {split}")
            if zero := int(np.sum(errors <= 0)):
                note = f"ours, {split}: {zero} epochs at 0 % error,\nleft as gaps on the log scale"
                ax.text(0.03, 0.03, note, transform=ax.transAxes, fontsize=7, color=color)
        ax.plot([], [], "o", color="dimgrey", ms=6, label=reported_dot(ax, result, OURS[0], error=True))
        epoch_axis(ax, "error (%), log scale", yscale="log", title=name)
        plain_log_ticks(ax.yaxis)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes[0]), key=lambda hl: len(hl[0]))
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=len(labels), fontsize=8)
    return fig


def _grouped(ax, points):
    """``points`` (x, y) grouped where their markers would sit on each other on ``ax`` (centres
    closer than 6 pixels, at the axes' final limits): a list of lists of indices."""
    pixels = ax.transData.transform(np.asarray(points, dtype=float))
    groups = []
    for i, pixel in enumerate(pixels):
        near = [g for g in groups if np.hypot(*(pixels[g[0]] - pixel)) < 6]
        if near:
            near[0].append(i)
        else:
            groups.append([i])
    return groups


def time_to_accuracy(search, final, target, time_goal, chosen, title=None):
    """Accuracy against training seconds, in two panels: above, the candidates' validation accuracy
    (``search``, the ``chosen`` recipe ringed); below, the chosen recipe's test accuracy for each
    seed (``final``), on a time axis of its own around them. Both are lists of dicts with ``recipe``,
    ``seed``, ``accuracy`` and ``seconds``; dashed lines at the ``target`` and the ``time_goal``.
    Points that would sit on each other share one marker and one label ("seeds 2, 3"). One legend
    under both panels, where it covers no point."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), layout="constrained")
    slowest = max(t["seconds"] for t in search)
    fastest, last = min(t["seconds"] for t in final), max(t["seconds"] for t in final)
    span = max(last, time_goal) - min(fastest, time_goal)
    panels = (
        (top, search, "s", OURS[0], "validation accuracy (%)\ncandidates, seed 0", (0, 1.45 * slowest)),
        (
            bottom,
            final,
            "o",
            OURS[1],
            f"test accuracy (%)\nthe chosen recipe, {len(final)} seeds",
            (max(0, min(fastest, time_goal) - 0.3 * span), max(last, time_goal) + 0.45 * span),
        ),
    )
    for ax, trials, marker, color, ylabel, xlim in panels:  # xlim: room for the names right of the points
        ax.axhline(100 * target, ls="--", color="black", lw=1, label=f"target {100 * target:.1f}%")
        ax.axvline(time_goal, ls=":", color="tab:red", lw=1, label=f"goal: under {time_goal:g} s")
        ax.set(ylabel=ylabel, xlim=xlim, xlabel="seconds from data in memory to trained model")
        points = [(t["seconds"], 100 * t["accuracy"]) for t in trials]
        ax.plot(*zip(*points, strict=True), marker, color=color, ms=7, ls="none")
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, 100 * target - 0.05 * (high - low)), high + 0.08 * (high - low))
        for group in _grouped(ax, points):
            if ax is top:
                text = trials[group[0]]["recipe"]
            else:
                seeds = [str(trials[i]["seed"]) for i in group]
                text = ("seeds " if len(seeds) > 1 else "seed ") + ", ".join(seeds)
            ax.annotate(text, points[group[0]], fontsize=8, xytext=(6, -3), textcoords="offset points")
        ax.grid(alpha=0.3)
    picked = next(t for t in search if t["recipe"] == chosen)
    top.plot(picked["seconds"], 100 * picked["accuracy"], "o", mfc="none", mec="black", ms=15, label="chosen")
    seconds = np.median([t["seconds"] for t in final])
    accuracy = 100 * np.mean([t["accuracy"] for t in final])
    reported = "reported: mean accuracy, median time"
    bottom.plot(seconds, accuracy, "D", mfc="none", mec="black", ms=9, label=reported)
    entries = {}  # label → handle, once each: both panels draw the target and the goal
    for ax in (top, bottom):
        handles, labels = ax.get_legend_handles_labels()
        entries |= dict(zip(labels, handles, strict=True))
    fig.legend(entries.values(), entries.keys(), loc="outside lower center", ncol=len(entries), fontsize=8)
    if title:
        top.set_title(title)
    return fig
