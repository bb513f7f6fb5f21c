"""The README's generated blocks: the results table (with the summary figures), the notebooks'
runtimes and the benchmark table, each between its marker lines."""

import json
import re

from lab.cli import uses
from lib import figures
from lib.paths import NOTEBOOKS, ROOT, output_dir
from lib.results import markdown_table, read_result, summary_rows, training_time

TABLE_START = "<!-- results-table:start -->"
TABLE_END = "<!-- results-table:end -->"
BENCH_START = "<!-- bench-table:start -->"
BENCH_END = "<!-- bench-table:end -->"
NOTEBOOKS_START = "<!-- notebooks-table:start -->"
NOTEBOOKS_END = "<!-- notebooks-table:end -->"
CLOSING = re.compile(r"Executed with profile (\w+) on backend (\S+), device (.+?), in (\d+) min (\d+) s\.")
TRAINED = re.compile(r"saved results/(\S+)\.full\.json")
LOADED = re.compile(r"Loaded (\S+) \(full\) from models/")


def replace_block(readme, start_marker, end_marker, text):
    """Replace what lies between two marker lines of ``readme`` with ``text``."""
    head, start, rest = readme.read_text().partition(start_marker)
    _, end, tail = rest.partition(end_marker)
    if not start or not end:
        raise SystemExit(f"{readme} lacks the markers {start_marker} … {end_marker}")
    readme.write_text(f"{head}{start_marker}\n{text}{end_marker}{tail}")


def update_summary(readme=ROOT / "README.md"):
    """Rebuild the summary of the full-profile results: the README's table (between its markers),
    ``results/summary.md`` and the three summary figures in ``figs/`` (of the experiments with a published
    figure)."""
    rows = summary_rows("full")
    table = markdown_table(rows)
    replace_block(readme, TABLE_START, TABLE_END, table)
    replace_block(readme, NOTEBOOKS_START, NOTEBOOKS_END, notebooks_table())
    (output_dir("results", "full") / "summary.md").write_text(table)
    rows = [row for row in rows if row["published"] is not None]  # the figures compare with a source
    comparison = figures.published_vs_ours(rows, title="Published versus ours")
    figures.save_fig(comparison, "summary_published_vs_ours", "full")
    gaps = figures.runs_against_published(rows, title="Our runs against the published figures")
    figures.save_fig(gaps, "summary_runs_vs_published", "full")
    curves = [read_result(row["name"], "full") for row in rows if row["ours"] is not None]
    series = figures.series_curves(curves, title="Test accuracy per epoch, seed 0 of each experiment")
    figures.save_fig(series, "summary_series_curves", "full")


def notebook_output(path):
    """The text of all stream outputs of the notebook at ``path`` (empty if it does not exist)."""
    if not path.exists():
        return ""
    cells = json.loads(path.read_text())["cells"]
    return "".join(
        "".join(out.get("text", ""))
        for cell in cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def last_run(text):
    """``"1 min 05 s"`` from a notebook's closing line in ``text`` and its profile, or ``None``."""
    found = CLOSING.search(text)
    return (f"{int(found[4])} min {found[5]} s", found[1]) if found else None


def notebooks_table(directory=NOTEBOOKS):
    """A markdown table of the notebooks in ``directory``: each one's last full run (time, and whether
    it trained or loaded its networks, from its committed outputs), the training time of those networks
    (from ``results/``) and what it reads from another notebook (``lab.cli.READS``, which also decides
    when it is out of date). Only committed files are read, so that any clone generates the same
    table."""
    rows = [
        "| nb | full profile: last run | training its networks from scratch | uses |",
        "|---|---|---|---|",
    ]
    for path in sorted(directory.glob("[0-9][0-9]_*.ipynb")):
        number, text = path.name[:2], notebook_output(path)
        full = last_run(text)
        trained, loaded = TRAINED.findall(text), LOADED.findall(text)
        if full and full[1] == "full":
            how = "trained " + ", ".join(trained) if trained else "networks loaded" if loaded else ""
            full_cell = f"{full[0]} ({how})" if how else full[0]
        else:
            full_cell = "not yet run in full"
        kept = [read_result(name, "full") for name in dict.fromkeys(loaded + trained)]
        seconds = [result["wall_time_s"] for result in kept if result]
        trained_in = training_time(sum(seconds)) if seconds else ""
        rows.append(f"| {number} | {full_cell} | {trained_in} | {uses(number)} |")
    return "\n".join(rows) + "\n"
