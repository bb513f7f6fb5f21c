"""The README's generated blocks: the results table (with the summary figures) and the benchmark table,
each between its marker lines."""

from lib import figures
from lib.paths import ROOT, output_dir
from lib.results import markdown_table, read_result, summary_rows

TABLE_START = "<!-- results-table:start -->"
TABLE_END = "<!-- results-table:end -->"
BENCH_START = "<!-- bench-table:start -->"
BENCH_END = "<!-- bench-table:end -->"


def replace_block(readme, start_marker, end_marker, text):
    """Replace what lies between two marker lines of ``readme`` with ``text``."""
    head, start, rest = readme.read_text().partition(start_marker)
    _, end, tail = rest.partition(end_marker)
    if not start or not end:
        raise SystemExit(f"{readme} lacks the markers {start_marker} … {end_marker}")
    readme.write_text(f"{head}{start_marker}\n{text}{end_marker}{tail}")


def update_summary(readme=ROOT / "README.md"):
    """Rebuild the summary of the full-profile results: the README's table (between its markers),
    ``results/summary.md`` and the two summary figures in ``figs/``."""
    rows = summary_rows("full")
    table = markdown_table(rows)
    replace_block(readme, TABLE_START, TABLE_END, table)
    (output_dir("results", "full") / "summary.md").write_text(table)
    comparison = figures.published_vs_ours(rows, title="Published versus ours")
    figures.save_fig(comparison, "summary_published_vs_ours", "full")
    curves = [read_result(row["name"], "full") for row in rows if row["ours"] is not None]
    series = figures.series_curves(curves, title="Test accuracy per epoch")
    figures.save_fig(series, "summary_series_curves", "full")
