"""Run results: the best-validation rule, the results JSON files and the summary table.

Where each piece is taught: the best-validation rule (``reported_test_accuracy``) and the choice of
the reported run among the seeds (``reported_run``) in notebook 01, the choice written as a result
(``best_validation_run``) and the plurality vote's result (``vote_result``) in notebook 05. The
summary table (``summary_rows``, ``markdown_table``), the README's, opens and closes notebooks 01
and 03–05 with where the previous notebook left off and what changed; 09 opens with it too.
"""

import json
import os
import sys

import numpy as np

from lib.experiments import BEST_VALIDATION_OF_3, EXPERIMENTS, SEEDS, get_experiment
from lib.paths import output_dir, relative, stored
from lib.profiles import get_profile

REQUIRED = ("experiment", "profile")


class ResultError(ValueError):
    """A results file that cannot be read or lacks what every result records."""


def best_epoch(val_accuracy):
    """1-based epoch of the best validation accuracy; ties go to the later epoch, as in network3."""
    if not val_accuracy:
        raise ValueError("no epochs recorded")
    best = max(val_accuracy)
    return max(i for i, acc in enumerate(val_accuracy) if acc == best) + 1


def reported_test_accuracy(val_accuracy, test_accuracy):
    """The test accuracy network3 reports: at the best validation epoch, or the last if no validation
    (taught in notebook 01)."""
    if not val_accuracy:
        return len(test_accuracy), test_accuracy[-1]
    epoch = best_epoch(val_accuracy)
    return epoch, test_accuracy[epoch - 1]


def run_of(result):
    """The run name of a training ``result`` (older results, all seed 0 or named runs, lack the key)."""
    return result.get("run", result["experiment"])


def best_validation_run(experiment, runs):
    """Nielsen's protocol over several runs: the run with the best validation accuracy (the earliest
    on ties), whose test accuracy is the reported figure; written as ``experiment``'s result with the
    validation and test accuracy of every run, so that their spread is recorded beside it."""
    best = max(runs, key=lambda r: r["best_val_accuracy"])
    seeds = ", ".join(str(r["seed"]) for r in runs)
    result = {
        **best,
        "experiment": experiment,
        "protocol": f"best validation of {len(runs)} runs, seeds {seeds}",
        "selected_run": run_of(best),
        "runs": [run_of(r) for r in runs],
        "run_val_accuracy": [r["best_val_accuracy"] for r in runs],
        "run_test_accuracy": [r["test_accuracy"] for r in runs],
        "wall_time_s": sum(r["wall_time_s"] for r in runs),
    }
    result.pop("run", None)
    result.pop("run_key", None)  # a selection, not a training run: nothing to load by this key
    write_result(result)
    return result


def vote_result(experiment, member_results, predicted, labels):
    """The result of a plurality vote (taught in notebook 05) of the runs ``member_results``, whose
    vote ``predicted`` the class of each test image with ``labels``: written as ``experiment``'s
    result, shaped like a training run's for ``compare`` and the summary table."""
    first = member_results[0]
    errors = np.flatnonzero(predicted != labels)
    result = {
        "experiment": experiment,
        "profile": first["profile"],
        "protocol": f"vote of {len(member_results)} runs, seeds "
        + ", ".join(str(r["seed"]) for r in member_results),
        "members": [run_of(r) for r in member_results],
        "member_test_accuracy": [r["test_accuracy"] for r in member_results],
        "test_accuracy": float(np.mean(predicted == labels)),
        "test_errors": errors.tolist(),
        "best_val_accuracy": None,
        "epochs_run": first["epochs_run"],
        "epoch_test_accuracy": [],
        "wall_time_s": sum(r["wall_time_s"] for r in member_results),
        **{key: first[key] for key in ("n_train", "backend", "device", "versions")},
    }
    write_result(result)
    return result


def result_path(experiment, profile=None):
    profile = get_profile(profile)
    return output_dir("results", profile) / f"{experiment}.{profile.name}.json"


def write_json(path, value):
    """Replace the file ``path`` with ``value`` as JSON, whole: a crash leaves the previous file or the
    new one, never half (the temporary file beside it is named ``tmp-<pid>.<name>``)."""
    tmp = path.with_name(f"tmp-{os.getpid()}.{path.name}")
    tmp.write_text(json.dumps(value, indent=1) + "\n")
    tmp.replace(path)
    return path


def write_result(result):
    """Write ``result`` (a dict with ``experiment`` and ``profile``) to its run's JSON file (``run_of``),
    whole (``write_json``); return the path."""
    return write_json(result_path(run_of(result), result["profile"]), result)


def read_result(experiment, profile=None, require=(), numbers=()):
    """The stored result of ``experiment`` under ``profile`` (``lib.paths.stored``: this kernel's own
    first, then the committed one), or ``None`` if it was never run.

    Raises ``ResultError`` naming the file when it is unreadable, lacks ``experiment``, ``profile``
    or a key of ``require``, or holds something other than a number (or null) under a key of
    ``numbers``.
    """
    profile = get_profile(profile)
    path = stored("results", f"{experiment}.{profile.name}.json", profile)
    return None if path is None else load_result(path, require, numbers)


def load_result(path, require=(), numbers=()):
    """The result in the JSON file ``path``; ``ResultError`` naming the file if it is unusable."""
    try:
        result = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultError(
            f"{relative(path)} is not a readable results file ({type(error).__name__}); "
            "restore it with git checkout or run its notebook again"
        ) from None
    missing = [k for k in (*REQUIRED, *require) if not isinstance(result, dict) or k not in result]
    if missing:
        raise ResultError(
            f"{relative(path)} lacks {', '.join(missing)}; "
            "restore it with git checkout or run its notebook again"
        )
    for key in numbers:
        value = result.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ResultError(
                f"{relative(path)} {key} is not a number; "
                "restore it with git checkout or run its notebook again"
            )
    return result


SUMMARY_KEYS = ("test_accuracy", "protocol", "epochs_run", "wall_time_s", "backend", "device")
SUMMARY_NUMBERS = ("test_accuracy", "epochs_run", "wall_time_s")


def reported_run(experiment, runs):
    """The run whose test accuracy is compared with the published figure: for Nielsen's experiments
    his protocol over the runs of seeds 0-2 (``book_runs``), the run with the best validation
    accuracy (the earliest on ties); otherwise seed 0's run (the first), as the lecture made one."""
    book = book_runs(runs)
    if get_experiment(experiment).protocol == BEST_VALIDATION_OF_3 and book:
        return max(book, key=lambda r: r["best_val_accuracy"])
    return runs[0]


def as_published(result, experiment):
    """``result`` measured as the published figure was: after the epoch the source stopped at
    (``Experiment.compared_at``, its test accuracy then), else unchanged."""
    epoch = get_experiment(experiment).compared_at
    if epoch is None or len(result.get("epoch_test_accuracy", ())) < epoch:
        return result
    return result | {
        "test_accuracy": result["epoch_test_accuracy"][epoch - 1],
        "compared_at": epoch,
        "protocol": f"{result['protocol']}, after epoch {epoch} of {result['epochs_run']}",
    }


def book_runs(runs):
    """The runs of seeds 0-2 (``experiments.SEEDS``) among ``runs``, if each has a validation accuracy."""
    book = [r for r in runs if r.get("seed") in SEEDS]
    return book if all(r.get("best_val_accuracy") is not None for r in book) else []


def seeds_text(runs):
    """``seeds 0–2: mean 97.63%, 97.55–97.70%, n = 3``: our runs' test accuracies."""
    tests = [100 * r["test_accuracy"] for r in runs]
    seeds = [r["seed"] for r in runs if r.get("seed") is not None]
    named = f"seeds {seeds[0]}–{seeds[-1]}" if len(seeds) == len(runs) > 1 else "seeds"
    return f"{named}: mean {np.mean(tests):.2f}%, {min(tests):.2f}–{max(tests):.2f}%, n = {len(tests)}"


def within(published, runs):
    """Whether ``published`` lies inside our runs' range of test accuracy (``None`` for one run)."""
    tests = [r["test_accuracy"] for r in runs]
    return None if len(tests) < 2 else min(tests) <= published <= max(tests)


def experiment_runs(experiment, profile="full"):
    """Our stored runs of ``experiment`` (``Experiment.run_names``), in seed order, those not run yet
    left out. A result the table cannot show is named in one warning and left out."""
    runs = []
    for name in get_experiment(experiment).run_names():
        try:
            result = read_result(name, profile, require=SUMMARY_KEYS, numbers=SUMMARY_NUMBERS)
        except ResultError as error:
            print(f"Warning: {error}; the table leaves that run out.", file=sys.stderr)
            continue
        if result is not None:
            runs.append(result)
    return runs


def summary_rows(profile="full", notebooks=None):
    """One row per registered experiment (of ``notebooks`` only, if given): the published figure, ours
    (``reported_run`` of our runs, or None) with the gap in points, and our runs' spread."""
    rows = []
    for exp in EXPERIMENTS.values():
        if notebooks is not None and exp.notebook not in notebooks:
            continue
        runs = [as_published(run, exp.name) for run in experiment_runs(exp.name, profile)]
        reported = reported_run(exp.name, runs) if runs else None
        ours = reported["test_accuracy"] if reported else None
        compared = ours is not None and exp.published is not None
        rows.append(
            {
                "notebook": exp.notebook,
                "name": exp.name,
                "experiment": exp.title,
                "published": exp.published,
                "protocol": exp.protocol,
                "ours": ours,
                "ours_protocol": protocol_text(exp.name, runs, reported) if runs else None,
                "gap_pp": round(100 * (ours - exp.published), 2) if compared else None,
                "not_measured": None if runs else not_measured(exp),
                "run_test_accuracy": [r["test_accuracy"] for r in runs],
                "seeds": seeds_text(runs) if len(runs) > 1 else None,
                "runs_planned": len(exp.run_names()),
                "within": within(exp.published, runs) if exp.published is not None else None,
                "epochs": reported["epochs_run"] if reported else None,
                "wall_time_s": reported["wall_time_s"] if reported else None,
                "backend": reported["backend"] if reported else None,
                "device": reported["device"] if reported else None,
            }
        )
    return rows


def not_measured(experiment):
    """Why ``experiment`` (an ``Experiment``) has no result: the data its full profile needs is not on
    this machine, or it has not run yet."""
    from lib.data import dataset_location  # lib.data reads numpy only; imported where it is needed

    if experiment.needs and dataset_location(experiment.needs) is None:
        return f"not measured here (no {experiment.needs} on this machine)"
    return "not yet measured"


def table_of(names, profile="full"):
    """The rows of the experiments ``names`` in the summary table, as Markdown (the README's table;
    each notebook opens and closes with its rows)."""
    rows = {row["name"]: row for row in summary_rows(profile)}
    return markdown_table([rows[name] for name in names])


def reported_line(reported, runs):
    """Which of ``runs`` is reported, in one line: its seed, its test accuracy at its best-validation
    epoch, and each run's best validation accuracy (the choice)."""
    validations = ", ".join(f"seed {r['seed']} {100 * r['best_val_accuracy']:.2f}%" for r in runs)
    return (
        f"reported: seed {reported['seed']}'s run, test {100 * reported['test_accuracy']:.2f}% at epoch "
        f"{reported['best_epoch']} (best validation: {validations})"
    )


def protocol_text(experiment, runs, reported):
    """How ``reported`` was chosen among ``runs``, in words (a single run's own protocol)."""
    if len(runs) < 2:
        return reported["protocol"]
    if get_experiment(experiment).protocol != BEST_VALIDATION_OF_3:
        return f"seed {reported['seed']}'s run, as the lecture made one"
    book = book_runs(runs)
    if not book:
        return f"seed {reported['seed']}'s run"
    text = f"the best-validation run of {len(book)}: seed {reported['seed']}"
    if len(runs) > len(book):
        best = max(runs, key=lambda r: r["best_val_accuracy"])
        text += f"; of all {len(runs)}: {100 * best['test_accuracy']:.2f}%, seed {best['seed']}"
    return text


def to_markdown(header, rows):
    """A Markdown table: the ``header`` cells, then one line per row of cells (an empty cell stays empty)."""

    def line(cells):
        return "|" + "|".join(f" {cell} " if cell != "" else " " for cell in cells) + "|\n"

    return line(header) + "|" + "---|" * len(header) + "\n" + "".join(line(row) for row in rows)


SUMMARY_HEADER = (
    "nb",
    "experiment",
    "published (or lecture)",
    "ours",
    "gap (pp)",
    "our runs' test accuracy",
    "epochs",
    "training time",
    "backend, device",
)


def duration(seconds):
    """``45 s``, ``4 min 10 s``, ``13 min``, ``2 h 05 min``: a time for a sentence or a progress line."""
    seconds = max(0, round(seconds))
    if seconds < 600:
        return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def training_time(seconds):
    """``4.9 s`` under a minute, ``1.8 min`` above."""
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def spread_cell(row):
    """Our runs' spread, and whether the published figure lies inside it."""
    if row.get("seeds") is None:
        return "seed 0 only so far" if row.get("runs_planned", 1) > 1 else "—"
    inside = "inside" if row["within"] else "outside"
    return f"{row['seeds']}; published {inside} our range"


def markdown_table(rows):
    """The summary rows as a Markdown table; experiments without a result say why (``not_measured``)."""
    cells = []
    for r in rows:
        published = f"{100 * r['published']:.2f}%" if r["published"] is not None else "none"
        published += f" ({r['protocol']})"
        if r["ours"] is None:
            measured = [r["not_measured"], "", "", "", "", ""]
        else:
            measured = [
                f"{100 * r['ours']:.2f}% ({r['ours_protocol']})",
                f"{r['gap_pp']:+.2f}" if r["gap_pp"] is not None else "—",
                spread_cell(r),
                str(r["epochs"]),
                training_time(r["wall_time_s"]),
                f"{r['backend']}, {r['device']}",
            ]
        cells.append([r["notebook"], r["experiment"], published, *measured])
    return to_markdown(SUMMARY_HEADER, cells)


def compare(runs, experiment=None):
    """One line: the published figure (or the lecture's, from its transcript), ours, the gap, how ours
    was measured and, for several runs (a list of results, seed 0 first), which run is reported and
    whether the published figure lies inside our runs' range. ``experiment``: the registered
    experiment the runs reproduce (default: the one they name)."""
    runs = runs if isinstance(runs, list) else [runs]
    exp = get_experiment(experiment or runs[0]["experiment"])
    runs = [as_published(run, exp.name) for run in runs]
    result = reported_run(exp.name, runs)
    label = "Lecture" if exp.protocol.startswith("lecture transcript") else "Published"
    if "compared_at" in result:
        rule = f"test accuracy where the {label.lower()}'s run stopped"
    elif result.get("best_val_accuracy") is not None:
        rule = (
            f"test accuracy at the best validation epoch ({result['best_epoch']} of {result['epochs_run']})"
        )
    elif float(result["epochs_run"]).is_integer():
        rule = f"test accuracy after the last epoch ({int(result['epochs_run'])})"
    else:  # a budget of images that ends inside an epoch
        epochs = result["epochs_run"]
        rule = f"test accuracy after {epochs} {'of an epoch' if epochs < 1 else 'epochs'}"
    ours = result["test_accuracy"]
    how = protocol_text(exp.name, runs, result) if len(runs) > 1 else result["protocol"]
    if exp.published is None:
        line = f"No published figure ({exp.source}) · ours {100 * ours:.2f}% ({rule}, {how})"
    else:
        line = (
            f"{label} {100 * exp.published:.2f}% ({exp.source}, {exp.protocol}) · "
            f"ours {100 * ours:.2f}% ({rule}, {how}) · "
            f"gap {100 * (ours - exp.published):+.2f} pp"
        )
    if len(runs) > 1 and exp.published is not None:
        inside = "inside" if within(exp.published, runs) else "outside"
        line += f" · our {seeds_text(runs)}: the {label.lower()} figure lies {inside} that range"
    if result["profile"] != "full":
        line += f" · {result['profile']} profile: a smoke test, not a reproduction"
    return line


def check_floor(result, floors):
    """Fail loudly if the run's test accuracy is below ``floors[profile]``: a broken model fails CI.

    A floor of ``None`` is for a profile too short for the accuracy to say anything (a sigmoid net
    still on its initial plateau): the training loss must then have fallen from the first epoch to
    the last, which a net whose gradients do not flow fails.
    """
    floor, ours, profile = floors[result["profile"]], result["test_accuracy"], result["profile"]
    name = f"{result['experiment']} ({profile})"
    if floor is None:
        first, last = result["epoch_loss"][0], result["epoch_loss"][-1]
        if not last < first:
            raise AssertionError(f"{name}: the training loss did not fall ({first:.4f} → {last:.4f})")
        print(f"Loss check passed: {first:.4f} → {last:.4f} ({profile}; no accuracy floor).")
        return
    if ours < floor:
        raise AssertionError(
            f"{name}: test accuracy {100 * ours:.2f}% is below the floor of {100 * floor:.2f}%"
        )
    print(f"Floor check passed: {100 * ours:.2f}% ≥ {100 * floor:.2f}% ({profile}).")
