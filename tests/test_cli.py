from pathlib import Path

import pytest

import lib
from lib import cli, paths
from lib.results import markdown_table, summary_rows

REPO = Path(lib.__file__).resolve().parent.parent


def test_unknown_notebook_is_exit_code_2_with_the_choices(capsys, monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "full")  # restored afterwards: `run` sets it for the kernels
    assert cli.main(["run", "--profile", "quick", "--only", "42"]) == 2
    error = capsys.readouterr().err
    assert "unknown notebook(s) ['42']" in error and "00 01" in error


def test_unknown_profile_is_exit_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--profile", "fast"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_readme_table_is_the_one_generated_from_results(monkeypatch):
    monkeypatch.setattr(paths, "ROOT", REPO)
    readme = (REPO / "README.md").read_text()
    table = readme.split(cli.TABLE_START)[1].split(cli.TABLE_END)[0]
    assert table.strip() == markdown_table(summary_rows("full")).strip()


def test_update_summary_rewrites_only_the_marked_block_and_draws_figures(tmp_path, isolated_outputs):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{cli.TABLE_START}\nstale\n{cli.TABLE_END}\noutro\n")
    cli.update_summary(readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "stale" not in text
    assert "| 01 | 784-100-10 sigmoid" in text and "not yet measured" in text
    assert (isolated_outputs / "results" / "summary.md").read_text() in text
    assert (isolated_outputs / "figs" / "summary_published_vs_ours.png").stat().st_size > 1000
