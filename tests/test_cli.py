import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import lib
from lab import cli
from lab.readme import NOTEBOOKS_END, NOTEBOOKS_START, TABLE_END, TABLE_START, notebooks_table, update_summary
from lib import paths
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
    table = readme.split(TABLE_START)[1].split(TABLE_END)[0]
    assert table.strip() == markdown_table(summary_rows("full")).strip()


def test_readme_notebooks_table_is_the_one_generated(monkeypatch):
    monkeypatch.setattr(paths, "ROOT", REPO)
    readme = (REPO / "README.md").read_text()
    table = readme.split(NOTEBOOKS_START)[1].split(NOTEBOOKS_END)[0]
    assert table.strip() == notebooks_table().strip()


def test_every_file_the_readme_links_is_committed():
    """A link or image of the README that a fresh clone lacks would show as broken on its page."""
    import re

    readme = (REPO / "README.md").read_text()
    targets = {m.split("#")[0] for m in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in m}
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout
    tracked = set(listed.split())
    if not tracked:
        pytest.skip("not a git checkout")
    folders = {str(Path(f).parent) + "/" for f in tracked} | {str(Path(f).parent) for f in tracked}
    missing = sorted(target for target in targets if target and target not in tracked | folders)
    assert not missing, f"README links files git does not track: {missing}"


def stream_notebook(path, text):
    """A notebook at ``path`` whose one code cell printed ``text``."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    cell = new_code_cell("pass", outputs=[new_output("stream", name="stdout", text=text)])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[cell]), path)


def test_notebooks_table_reads_closing_lines_and_kept_runs(tmp_path, isolated_outputs):
    from lib.results import write_result

    write_result({"experiment": "relu", "profile": "full", "test_accuracy": 0.99, "wall_time_s": 150.0})
    closing = "Executed with profile {} on backend tensorflow, device CPU: x (2 cores), in {} min {} s.\n"
    notebooks = tmp_path / "notebooks"
    stream_notebook(
        notebooks / "03_relu.ipynb",
        "Loaded relu (full) from models/relu.full.weights.h5\n" + closing.format("full", 0, "05"),
    )
    stream_notebook(notebooks / "05_dropout.ipynb", closing.format("quick", 0, 40))
    rows = notebooks_table(notebooks).splitlines()
    assert (
        rows[2] == "| 03 | 0 min 05 s (networks loaded) | 2.5 min | the results of 02 (its opening table) |"
    )
    assert rows[3] == ("| 05 | not yet run in full |  | the results of 01–04 (its series figures) |")


def test_update_summary_rewrites_only_the_marked_block_and_draws_figures(tmp_path, isolated_outputs):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"intro\n{TABLE_START}\nstale\n{TABLE_END}\n{NOTEBOOKS_START}\n{NOTEBOOKS_END}\noutro\n"
    )
    update_summary(readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "stale" not in text
    assert "| 01 | 784-100-10 sigmoid" in text and "not yet measured" in text
    assert (isolated_outputs / "results" / "summary.md").read_text() in text
    assert (isolated_outputs / "figs" / "summary_published_vs_ours.png").stat().st_size > 1000
    assert (isolated_outputs / "figs" / "summary_runs_vs_published.png").stat().st_size > 1000


def test_summary_figures_skip_results_without_per_epoch_accuracies(tmp_path, isolated_outputs):
    from lib.results import write_result

    speedrun = {
        "experiment": "speedrun",
        "profile": "full",
        "test_accuracy": 0.993,
        "protocol": "mean of 5 seeds",
    }
    write_result({**speedrun, "epochs_run": 2, "wall_time_s": 90.0, "backend": "tensorflow", "device": "CPU"})
    readme = tmp_path / "README.md"
    readme.write_text(f"{TABLE_START}\n{TABLE_END}\n{NOTEBOOKS_START}\n{NOTEBOOKS_END}\n")
    update_summary(readme)
    assert "| 10 | Speedrun" in readme.read_text() and "99.30% (mean of 5 seeds)" in readme.read_text()


def write_notebook(path, *sources):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell(source) for source in sources]
    cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(
        new_notebook(
            cells=cells,
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        ),
        path,
    )


@pytest.fixture
def tiny_notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "quick")
    directory = tmp_path / "notebooks"
    directory.mkdir()
    write_notebook(
        directory / "00_ok.ipynb",
        "PROFILE = None",
        "from lib.profiles import get_profile\nprint('ran', get_profile(PROFILE).name)",
    )
    write_notebook(directory / "01_fails.ipynb", "PROFILE = None", "x = 1", "raise ValueError('boom')")
    return directory


def run_cli(directory, *args, jobs=1):
    parsed = argparse.Namespace(
        profile="quick",
        only=None,
        backend="tensorflow",
        force=False,
        jobs=jobs,
        no_summary=False,
        dry_run=False,
        device=None,
    )
    for arg in args:
        setattr(parsed, arg, True)
    return cli.run(parsed, directory)


def test_run_reports_the_failing_cell_runs_the_rest_and_skips_what_is_up_to_date(
    tiny_notebooks, isolated_outputs, capsys
):
    assert run_cli(tiny_notebooks) == 1
    out, err = capsys.readouterr()
    assert "2 of 2 notebooks to run" in out and "ran quick" in out
    assert "FAILED 01_fails.ipynb: cell In [3] `raise ValueError('boom')`: ValueError: boom" in err
    assert (isolated_outputs / ".quick" / "notebooks" / "00_ok.ipynb").exists()
    state = json.loads((isolated_outputs / ".quick" / "results" / "runs.json").read_text())
    assert list(state) == ["00_ok.ipynb"]

    assert run_cli(tiny_notebooks) == 1  # the failed notebook runs again, the finished one does not
    out = capsys.readouterr().out
    assert "1 of 2 notebooks to run; up to date, skipped (use --force to rerun): 00" in out

    write_notebook(tiny_notebooks / "00_ok.ipynb", "PROFILE = None", "print('changed')")
    assert run_cli(tiny_notebooks) == 1
    assert "2 of 2 notebooks to run" in capsys.readouterr().out


def test_kernel_reads_the_profile_from_the_environment_and_outputs_do_not_change_the_hash(
    tiny_notebooks, isolated_outputs
):
    source = tiny_notebooks / "00_ok.ipynb"
    before = cli.source_hash(source)
    run_cli(tiny_notebooks)
    executed = (isolated_outputs / ".quick" / "notebooks" / "00_ok.ipynb").read_text()
    assert "ran quick" in executed and "injected-parameters" not in executed
    assert '"input_path": "00_ok.ipynb"' in executed and "/tmp/" not in executed
    assert cli.source_hash(isolated_outputs / ".quick" / "notebooks" / "00_ok.ipynb") == before


def test_unusable_backend_is_exit_code_2(capsys, monkeypatch):
    monkeypatch.setattr(cli, "probe_device", lambda backend: (None, "No module named 'jax'"))
    args = argparse.Namespace(
        profile="quick", only=None, backend="jax", force=False, jobs=1, no_summary=False
    )
    assert cli.run(args) == 2
    assert "the jax backend cannot run here (No module named 'jax')" in capsys.readouterr().err


def test_a_bogus_profile_in_the_environment_is_one_line_and_exit_code_2(capsys, monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "bogus")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown profile 'bogus'")


def test_a_garbage_runs_record_warns_and_runs_everything(tiny_notebooks, isolated_outputs, capsys):
    record = isolated_outputs / ".quick" / "results" / "runs.json"
    record.parent.mkdir(parents=True)
    record.write_text("{not json")
    assert run_cli(tiny_notebooks) == 1
    out, err = capsys.readouterr()
    assert ".quick/results/runs.json is unreadable" in err and "2 of 2 notebooks to run" in out
    assert list(json.loads(record.read_text())) == ["00_ok.ipynb"]


def test_an_interrupted_forced_run_says_how_to_finish_it_and_is_not_up_to_date(
    tiny_notebooks, isolated_outputs, capsys, monkeypatch
):
    run_cli(tiny_notebooks)  # 00 succeeds and is recorded
    execute = cli.execute

    def interrupted(notebook, profile, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "execute", interrupted)
    capsys.readouterr()
    assert run_cli(tiny_notebooks, "force") == 130
    assert (
        "To finish this forced run: python -m lab run --force --only 00 01 --profile quick "
        "--backend tensorflow; an interrupted training resumes from its last epoch."
    ) in capsys.readouterr().err
    assert run_cli(tiny_notebooks, "force", "no_summary") == 130  # a parallel run's child
    assert capsys.readouterr().err.strip() == "Interrupted in 00_ok.ipynb."  # its parent says what to do
    monkeypatch.setattr(cli, "execute", execute)
    run_cli(tiny_notebooks)
    assert "2 of 2 notebooks to run" in capsys.readouterr().out  # 00's old record was cleared


@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: [])(0)) < 2, reason="needs 2 cores")
def test_an_interrupted_forced_parallel_run_names_the_notebooks_left(
    tiny_notebooks, isolated_outputs, capsys, monkeypatch
):
    write_notebook(tiny_notebooks / "02_more.ipynb", "PROFILE = None")
    quick = cli.get_profile("quick")
    cli.record_run(quick, "02_more.ipynb", {"key": "old", "finished_at": "2020-01-01T00:00:00+00:00"})

    class InterruptedChild:  # lane 00 02 finishes 00 and never reaches 02; lane 01 is interrupted
        def __init__(self, command, **kwargs):
            lane = command[command.index("--only") + 1 : command.index("--no-summary")]
            if "00" in lane:
                record = {
                    "key": "new",
                    "finished_at": cli.datetime.now(cli.UTC).isoformat(timespec="seconds"),
                }
                cli.record_run(quick, "00_ok.ipynb", record)
            self.stdout = iter([])

        def wait(self):
            return 130

    monkeypatch.setattr(cli, "probe_device", lambda backend: ("CPU", None))
    monkeypatch.setattr(cli.subprocess, "Popen", InterruptedChild)
    assert run_cli(tiny_notebooks, "force", jobs=2) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "Interrupted. To finish this forced run: python -m lab run --force --only 01 02 --profile quick "
        "--backend tensorflow --jobs 2; an interrupted training resumes from its last epoch."
    )


def test_an_unreadable_result_is_named_and_does_not_hide_the_failures(
    tiny_notebooks, isolated_outputs, capsys
):
    results = isolated_outputs / ".quick" / "results"
    results.mkdir(parents=True)
    (results / "fc-baseline.quick.json").write_text('{"experiment": "fc-baseline"')
    (results / "relu.quick.json").write_text('{"experiment": "relu", "profile": "quick"}')
    assert run_cli(tiny_notebooks) == 1
    out, err = capsys.readouterr()
    assert "FAILED 01_fails.ipynb" in err
    assert ".quick/results/fc-baseline.quick.json is not a readable results file" in err
    assert ".quick/results/relu.quick.json lacks test_accuracy" in err
    assert "Summary (quick profile)" in out


def test_the_next_notebook_is_the_longest_of_those_whose_inputs_have_run():
    estimates = {"00": 100, "01": 200, "02": 3000, "03": 2500, "04": 50}
    pending = list(estimates)
    assert cli.next_ready(pending, [], {}, estimates) == "02"
    assert cli.next_ready(pending, [], {"02": {"00"}}, estimates) == "03"
    assert cli.next_ready(pending, ["00"], {"02": {"00"}}, estimates) == "02"
    assert cli.next_ready(["00", "01"], [], {}, {}) == "00"  # no past runs: in order
    assert cli.next_ready(["05"], [], {"05": {"07"}}, {}) is None


@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: [])(0)) < 2, reason="needs 2 cores")
def test_jobs_run_notebooks_at_once_each_on_one_core(tiny_notebooks, isolated_outputs, capsys, monkeypatch):
    monkeypatch.setenv("LAB_QUICK_ROOT", str(isolated_outputs / ".quick"))  # the children's outputs
    write_notebook(
        tiny_notebooks / "02_cores.ipynb",
        "PROFILE = None",
        "import os\nprint('cores', len(os.sched_getaffinity(0)))",
    )
    assert run_cli(tiny_notebooks, jobs=2) == 1
    out, err = capsys.readouterr()
    assert "2 jobs at once" in out
    assert "02 │ cores 1" in out and "01 │ FAILED 01_fails.ipynb" in out
    state = json.loads((isolated_outputs / ".quick" / "results" / "runs.json").read_text())
    assert sorted(state) == ["00_ok.ipynb", "02_cores.ipynb"]


def test_ctrl_c_prints_the_clis_message_and_no_kernel_traceback(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(
        notebooks / "00_sleeps.ipynb",
        "PROFILE = None",
        "import time\nfor i in range(120):\n    print('tick', i, flush=True)\n    time.sleep(0.5)",
    )
    env = {**os.environ, "LAB_QUICK_ROOT": str(tmp_path / "quick")}
    command = [sys.executable, "-m", "lab", "run", "--profile", "quick", "--notebooks", str(notebooks)]
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    for line in child.stdout:  # wait until the cell runs
        lines.append(line)
        if line.startswith("tick 2"):
            break
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    out = "".join(lines) + child.communicate(timeout=60)[0]
    assert child.returncode == 130
    assert "Interrupted in 00_sleeps.ipynb. Run the same command again" in out
    assert "Traceback" not in out and "IPKernelApp" not in out
    assert (tmp_path / "quick" / "tmp" / "kernel.log").exists()


def kept_files(root, results=(), weights=()):
    """Result files (name -> dict) and weights files (names) under ``root``, as notebooks keep them."""
    for kind in ("results", "models"):
        (root / kind).mkdir(parents=True, exist_ok=True)
    for name, result in dict(results).items():
        (root / "results" / f"{name}.json").write_text(json.dumps(result))
    for name in weights:
        (root / "models" / f"{name}.weights.h5").write_bytes(f"weights of {name}".encode())


# Issue 26, 1: a notebook is out of date when what it reads of another notebook changed (lab.cli.READS)


def dry_run_lines(directory, capsys, *args):
    """Each notebook's line of ``python -m lab run --dry-run`` on TensorFlow (the backend the tests
    record their runs with, whatever ``KERAS_BACKEND`` the suite runs on), by number, and the plan's
    last line."""
    command = ["run", "--dry-run", "--backend", "tensorflow", "--notebooks", str(directory), *args]
    assert cli.main(command) == 0
    out = capsys.readouterr().out.splitlines()
    return {line.split()[0][:2]: line for line in out if line.startswith("  ")}, out[-1]


def test_a_changed_kept_result_of_05_makes_07_out_of_date(tmp_path, isolated_outputs, capsys):
    directory = tmp_path / "notebooks"
    directory.mkdir()
    for name in ("05_dropout.ipynb", "06_cnn.ipynb", "07_filters.ipynb"):
        write_notebook(directory / name, "PROFILE = None")
    chosen = {"experiment": "dropout", "selected_run": "dropout-2"}
    weights = ["dropout-1.full", "dropout-2.full", "mnist-cnn.full", "mnist-cnn-seed1.full"]
    kept_files(isolated_outputs, {"dropout.full": chosen, "relu.full": {"test_accuracy": 0.99}}, weights)
    full = cli.get_profile("full")
    for path in cli.notebooks(directory).values():  # each recorded as run with these files
        parts = cli.inputs(path, full, "tensorflow")
        cli.record_run(full, path.name, {"key": cli.inputs_key(parts), "inputs": parts})
    lines, _ = dry_run_lines(directory, capsys, "--profile", "full")
    assert list(lines) == ["05", "06", "07"]  # each after the notebooks it reads
    assert all(line.endswith("up to date") for line in lines.values())

    for name in ("mnist-cnn-seed1.full", "dropout-1.full"):  # what 07 does not read: another seed's
        (isolated_outputs / "models" / f"{name}.weights.h5").write_bytes(b"retrained")  # and net
    assert dry_run_lines(directory, capsys, "--profile", "full")[0]["07"].endswith("up to date")

    kept_files(isolated_outputs, {"dropout.full": {**chosen, "selected_run": "dropout-1"}})  # 05 chose again
    lines, plan = dry_run_lines(directory, capsys, "--profile", "full")
    assert lines["07"].endswith(
        "07_filters.ipynb  to run: what it reads changed: models/dropout-1.full.weights.h5, "
        "models/dropout-2.full.weights.h5, results/dropout.full.json"
    )
    assert lines["05"].endswith("up to date") and lines["06"].endswith("up to date")
    assert plan.startswith("1 of 3 notebooks to run; up to date, skipped (use --force to rerun): 05 06")

    kept_files(isolated_outputs, {"dropout-ensemble.full": {"test_accuracy": 0.99}})  # 06's opening table
    lines, _ = dry_run_lines(directory, capsys, "--profile", "full")
    assert lines["06"].endswith("to run: what it reads changed: results/dropout-ensemble.full.json")


def test_05_reads_every_seed_of_the_series_and_07_waits_for_it(tmp_path, isolated_outputs, capsys):
    directory = tmp_path / "notebooks"
    directory.mkdir()
    for name in ("05_dropout.ipynb", "07_filters.ipynb"):
        write_notebook(directory / name, "PROFILE = None")
    quick = cli.get_profile("quick")
    for path in cli.notebooks(directory).values():
        parts = cli.inputs(path, quick, "tensorflow")
        cli.record_run(quick, path.name, {"key": cli.inputs_key(parts), "inputs": parts})
    kept_files(isolated_outputs / ".quick", {"relu-seed2.quick": {"test_accuracy": 0.9}})
    kept_files(isolated_outputs, {"relu-seed2.full": {"test_accuracy": 0.9}})  # another profile's
    lines, plan = dry_run_lines(directory, capsys, "--profile", "quick")
    assert lines["05"].endswith("to run: what it reads changed: .quick/results/relu-seed2.quick.json")
    assert lines["07"].endswith("up to date")  # in the quick profile 07 trains its own stand-ins
    lines, plan = dry_run_lines(directory, capsys, "--profile", "full")
    assert lines["05"].endswith("to run: no successful run recorded")
    assert lines["07"].endswith("to run: no successful run recorded")
    full = cli.get_profile("full")
    parts = cli.inputs(directory / "07_filters.ipynb", full, "tensorflow")
    cli.record_run(full, "07_filters.ipynb", {"key": cli.inputs_key(parts), "inputs": parts})
    lines, plan = dry_run_lines(directory, capsys, "--profile", "full")
    assert lines["07"].endswith("up to date; checked again once 05 ran, whose outputs it reads")
    assert plan == (
        "1 of 2 notebooks to run; up to date unless what they read changes, checked once it ran: 07"
    )


def test_a_notebook_runs_after_what_it_reads_and_again_only_if_that_changed(
    tmp_path, isolated_outputs, capsys, monkeypatch
):
    directory = tmp_path / "notebooks"
    directory.mkdir()
    write_notebook(directory / "05_summary.ipynb", "PROFILE = None")
    write_notebook(directory / "03_relu.ipynb", "PROFILE = None")
    ran, result = [], {"experiment": "relu", "profile": "quick", "test_accuracy": 0.9}

    def execute(notebook, profile, progress=None):  # 03 writes the result 05 reads
        ran.append(notebook.name[:2])
        if notebook.name.startswith("03"):
            kept_files(isolated_outputs / ".quick", {"relu.quick": result})
        return notebook

    monkeypatch.setattr(cli, "probe_device", lambda backend: ("CPU", None))
    monkeypatch.setattr(cli, "execute", execute)
    assert run_cli(directory) == 0 and ran == ["03", "05"]
    assert "2 of 2 notebooks to run\n" in capsys.readouterr().out
    assert run_cli(directory) == 0 and ran == ["03", "05"]  # nothing changed

    write_notebook(directory / "03_relu.ipynb", "PROFILE = None", "x = 1")  # 03 runs; its result is the same
    assert run_cli(directory) == 0 and ran == ["03", "05", "03"]
    out = capsys.readouterr().out
    assert "1 of 2 notebooks to run; up to date, skipped (use --force to rerun): 05" not in out
    assert "up to date unless what they read changes, checked once it ran: 05" in out
    assert "up to date: what it reads did not change; skipped" in out

    result["test_accuracy"] = 0.95  # now 03's run changes what 05 reads
    write_notebook(directory / "03_relu.ipynb", "PROFILE = None", "x = 2")
    assert run_cli(directory) == 0 and ran == ["03", "05", "03", "03", "05"]


@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: [])(0)) < 2, reason="needs 2 cores")
def test_jobs_start_a_notebook_once_the_notebooks_it_reads_have_finished(
    tmp_path, isolated_outputs, capsys, monkeypatch
):
    directory = tmp_path / "notebooks"
    directory.mkdir()
    for name in ("01_fc.ipynb", "03_relu.ipynb", "05_summary.ipynb", "09_other.ipynb"):
        write_notebook(directory / name, "PROFILE = None")
    quick = cli.get_profile("quick")
    cli.record_run(quick, "05_summary.ipynb", {"key": "old", "seconds": 5000})  # the longest
    events = []

    class Child:
        def __init__(self, command, **kwargs):
            self.number = command[command.index("--only") + 1]
            events.append(("start", self.number))
            self.stdout = iter([f"ran {self.number}\n"])

        def wait(self):
            if ("end", self.number) not in events:
                events.append(("end", self.number))
            return 0

    monkeypatch.setattr(cli, "probe_device", lambda backend: ("CPU", None))
    monkeypatch.setattr(cli.subprocess, "Popen", Child)
    assert run_cli(directory, "no_summary", jobs=2) == 0
    assert "each after what it reads (05 after 01 03)" in capsys.readouterr().out
    started = [n for kind, n in events if kind == "start"]
    assert sorted(started) == ["01", "03", "05", "09"]
    first_05 = events.index(("start", "05"))
    assert events.index(("end", "01")) < first_05 and events.index(("end", "03")) < first_05


def test_the_uses_column_is_generated_from_what_notebooks_read():
    assert cli.uses("05") == "the results of 01–04 (its series figures)"
    assert cli.uses("06") == "the results of 05 (its opening table)"
    assert cli.uses("07") == (
        "the results of 06, 06's `mnist-cnn` net and 05's chosen `dropout` net "
        "(its opening table; without the nets, small stand-ins trained here)"
    )
    assert cli.uses("00") == ""
    assert cli.uses("10") == "the results of 05, 06 and 08 (its opening table)"
    assert cli.depends_on("05", "full") == {"01", "02", "03", "04"}
    assert cli.depends_on("07", "full") == {"05", "06"} and cli.depends_on("07", "quick") == set()
    order = cli.run_order([f"{n:02d}" for n in range(12)], "full")
    assert order == [f"{n:02d}" for n in range(12)]  # the series uses only what an earlier notebook made


def test_a_notebook_that_reads_a_later_one_runs_after_it(monkeypatch):
    monkeypatch.setitem(cli.READS, "00", cli.opening("speedrun"))  # a lecturer's 00 that reads 10
    assert cli.run_order(["00", "05", "10"], "full") == ["05", "10", "00"]
    assert cli.run_order(["00", "05", "10"], "quick") == ["00", "05", "10"]  # opening tables: full only


# Issue 26, 2: a damaged results file is one line, naming it, and a non-zero exit, in every command


def test_a_damaged_result_stops_the_table_with_one_line_before_anything_is_written(
    isolated_outputs, capsys, monkeypatch
):
    from lab import readme

    def written(*args, **kwargs):
        raise AssertionError("the README was rewritten")

    monkeypatch.setattr(readme, "update_summary", written)
    kept_files(isolated_outputs)
    (isolated_outputs / "results" / "relu.full.json").write_text("{garbage")
    assert cli.main(["table"]) == 1
    assert capsys.readouterr().err == (
        "error: results/relu.full.json is not a readable results file (JSONDecodeError); "
        "restore it with git checkout or run its notebook again\n"
    )


@pytest.mark.parametrize("command", ["run", "table", "bench", "pool-rule"])
def test_every_command_ends_a_result_error_with_its_one_line(command, capsys, monkeypatch):
    from lab import pool_rule

    def damaged(*args, **kwargs):
        raise cli.ResultError("results/x.full.json lacks experiment; restore it with git checkout")

    for module, name in ((cli, "run"), (cli, "table"), (cli, "bench"), (pool_rule, "main")):
        monkeypatch.setattr(module, name, damaged)
    assert cli.main([command]) == 1
    assert (
        capsys.readouterr().err
        == "error: results/x.full.json lacks experiment; restore it with git checkout\n"
    )


# Issue 26, 3: two runs at once never run the same notebook


def test_a_second_run_refuses_the_notebook_another_run_is_running(
    tiny_notebooks, isolated_outputs, capsys, monkeypatch
):
    monkeypatch.setenv("LAB_QUICK_ROOT", str(isolated_outputs / ".quick"))  # the other process's
    holds = "import sys\nfrom lab import cli\nwith cli.notebook_lock('quick', '00_ok.ipynb') as held:\n"
    holds += "    print('held' if held is None else held, flush=True)\n    sys.stdin.read()\n"
    other = subprocess.Popen(
        [sys.executable, "-c", holds], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    ran = []

    def execute(notebook, profile, progress=None):
        ran.append(notebook.name)
        return notebook

    monkeypatch.setattr(cli, "probe_device", lambda backend: ("CPU", None))
    monkeypatch.setattr(cli, "execute", execute)
    try:
        assert other.stdout.readline() == "held\n"
        assert run_cli(tiny_notebooks, "force", "no_summary") == 1
    finally:
        other.communicate("", timeout=30)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines() if "00_ok" in line]
    assert lines[-1] == (
        f"00_ok.ipynb is being run by another python -m lab run (pid {other.pid}): not run here; "
        "run this again once that one has finished."
    )
    assert ran == ["01_fails.ipynb"]
    assert run_cli(tiny_notebooks, "no_summary") == 0 and ran == ["01_fails.ipynb", "00_ok.ipynb"]


# Issue 26, 4: the command line shows no TensorFlow start-up lines, and --help loads no backend

NATIVE_LINES = ("absl::InitializeLog", "cudart_stub", "cpu_feature_guard", "oneDNN", "cuInit")


def test_help_loads_no_backend_nor_matplotlib():
    code = (
        "import sys\nfrom lab import cli\n"
        "try:\n    cli.main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({'tensorflow', 'keras', 'jax', 'torch', 'matplotlib'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.splitlines()[-1] == "[]" and "--force" in done.stdout and done.stderr == ""


def test_the_command_line_shows_no_tensorflow_start_up_lines(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(
        notebooks / "00_keras.ipynb", "PROFILE = None", "import keras\nprint(keras.backend.backend())"
    )
    env = {**os.environ, "LAB_QUICK_ROOT": str(tmp_path / "quick"), "KERAS_BACKEND": "tensorflow"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "lab", "run", "--profile", "quick", "--notebooks", str(notebooks)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.startswith("Profile quick · backend tensorflow · device ")
        and "tensorflow\n" in done.stdout
    )
    assert not [marker for marker in NATIVE_LINES if marker in done.stdout + done.stderr], done.stderr


def test_native_lines_go_to_the_log_and_python_errors_to_the_terminal(tmp_path):
    code = (
        "import os, sys\nfrom lab.cli import native_stderr_to\nwith native_stderr_to(sys.argv[1]):\n"
        "    os.write(2, b'I0000 cudart_stub.cc:31] native\\n')\n    print('python', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\nos.write(2, b'native after\\n')"
    )
    log = tmp_path / "kernel.log"
    done = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, cwd=REPO)
    assert done.stderr == "python\nafter\nnative after\n"
    assert log.read_text() == "I0000 cudart_stub.cc:31] native\n"


def test_an_unusable_backend_is_named_by_its_python_error_not_a_native_line(monkeypatch):
    stderr = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "Traceback (most recent call last):\nModuleNotFoundError: No module named 'jax'\n"
        "E0000 00:00:1796624916.608609   32576 cuda_platform.cc:52] failed call to cuInit\n"
    )
    done = subprocess.CompletedProcess([], 1, stdout="", stderr=stderr)
    monkeypatch.setattr(cli.subprocess, "run", lambda *args, **kwargs: done)
    assert cli.probe_device("jax") == (None, "ModuleNotFoundError: No module named 'jax'")


def test_a_notebook_that_ran_without_its_data_runs_again_once_the_data_is_there(tmp_path, monkeypatch):
    """11's full profile needs CIFAR-10: where it is found is one of the notebook's inputs."""
    from lib import data

    notebook = tmp_path / "11_cifar10_cnn.ipynb"
    write_notebook(notebook, "PROFILE = None")
    monkeypatch.setattr(data, "cifar10_location", lambda path=None: None)
    absent = cli.inputs(notebook, "full", "tensorflow")
    assert absent["data"] == {"CIFAR-10": "absent"}
    record = {"key": cli.inputs_key(absent), "inputs": absent}
    assert cli.why(absent, record) == ""
    monkeypatch.setattr(data, "cifar10_location", lambda path=None: Path("cifar-10-batches-py"))
    assert (
        cli.why(cli.inputs(notebook, "full", "tensorflow"), record)
        == "CIFAR-10: absent → cifar-10-batches-py"
    )
    assert "data" not in cli.inputs(notebook, "quick", "tensorflow")  # the quick profile uses the stand-in
    other = tmp_path / "06_keras_mnist_cnn.ipynb"
    write_notebook(other, "PROFILE = None")
    assert "data" not in cli.inputs(other, "full", "tensorflow")
