"""Command line: ``python -m lib run`` executes the notebooks headless; ``python -m lib table``
rebuilds the README's results table and the summary figures from ``results/``."""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from lib.paths import NOTEBOOKS, ROOT, output_dir
from lib.profiles import PROFILES, get_profile
from lib.results import markdown_table, summary_rows

TABLE_START = "<!-- results-table:start -->"
TABLE_END = "<!-- results-table:end -->"


def notebooks():
    """The numbered notebooks, by their two-digit prefix."""
    return {p.name[:2]: p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}


def execute(notebook, profile):
    """Execute ``notebook`` with papermill under ``profile``; return the executed copy's path.

    Full-profile runs replace the notebook's committed outputs, but only once it ran to the end;
    quick runs write to ``.quick/notebooks/``.
    """
    import papermill

    target = notebook if profile.is_full else output_dir("notebooks", profile) / notebook.name
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", dir=output_dir("tmp", "quick"))
    os.close(fd)
    try:
        papermill.execute_notebook(
            notebook,
            tmp,
            parameters={"PROFILE": profile.name},
            kernel_name="python3",
            cwd=NOTEBOOKS,
            progress_bar=True,
        )
        Path(tmp).replace(target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def update_summary(readme=ROOT / "README.md"):
    """Rebuild the summary of the full-profile results: the README's table (between its markers),
    ``results/summary.md`` and the two summary figures in ``figs/``."""
    from lib import figures
    from lib.results import read_result

    text = readme.read_text()
    head, start, rest = text.partition(TABLE_START)
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise SystemExit(f"{readme} lacks the markers {TABLE_START} … {TABLE_END}")
    rows = summary_rows("full")
    table = markdown_table(rows)
    readme.write_text(f"{head}{TABLE_START}\n{table}{TABLE_END}{tail}")
    (output_dir("results", "full") / "summary.md").write_text(table)
    figures.save_fig(
        figures.published_vs_ours(rows, title="Published versus ours"), "summary_published_vs_ours", "full"
    )
    curves = [read_result(row["name"], "full") for row in rows if row["ours"] is not None]
    fig = figures.series_curves(
        [r for r in curves if r["epoch_test_accuracy"]], title="Test accuracy per epoch"
    )
    figures.save_fig(fig, "summary_series_curves", "full")


def run(args):
    from lib import system

    profile = get_profile(args.profile)
    os.environ["LAB_PROFILE"] = profile.name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info and warnings, not errors
    available = notebooks()
    selected = args.only or list(available)
    unknown = [n for n in selected if n not in available]
    if unknown:
        print(f"error: unknown notebook(s) {unknown}; choose from {' '.join(available)}", file=sys.stderr)
        return 2
    print(f"Profile {profile.name} · backend {system.backend()} · device {system.device()}")
    failed = []
    for number in selected:
        print(f"[{number}] {available[number].name}", flush=True)
        try:
            print(f"    wrote {execute(available[number], profile).relative_to(ROOT)}")
        except Exception as error:  # a failing notebook must not stop the others
            failed.append((number, str(error).strip().splitlines()[-1] if str(error).strip() else error))
    if profile.is_full:
        update_summary()
    for number, message in failed:
        print(f"FAILED {available[number].name}: {message}", file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="execute the notebooks headless")
    run_parser.add_argument(
        "--profile", choices=list(PROFILES), default=None, help="default: $LAB_PROFILE or full"
    )
    run_parser.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers, e.g. --only 00 01")
    commands.add_parser("table", help="rebuild the README's table and the summary figures from results/")
    args = parser.parse_args(argv)
    if args.command == "table":
        update_summary()
        return 0
    return run(args)
