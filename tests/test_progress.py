import io

from lab import progress as progress_module
from lab.progress import Progress
from lib.results import duration


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_remaining_time_counts_the_last_runs_of_what_is_left(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", clock)
    out = io.StringIO()
    bars = Progress(["00_a.ipynb", "01_b.ipynb"], {"00_a.ipynb": 60, "01_b.ipynb": 120}, file=out)
    assert bars.remaining() == 180
    bars.start("00_a.ipynb")
    clock.now += 45
    assert bars.remaining() == 135
    clock.now += 30  # longer than its last run: never below what the others still need
    assert bars.remaining() == 120
    bars.done("00_a.ipynb")
    assert bars.remaining() == 120
    bars.start("01_b.ipynb")
    assert "[2/2] 01_b.ipynb · elapsed 1 min 15 s · remaining ≈ 2 min 00 s" in out.getvalue()
    bars.close()


def test_a_notebook_without_a_past_run_makes_the_remaining_time_unknown():
    bars = Progress(["00_a.ipynb", "01_b.ipynb"], {"00_a.ipynb": 60}, file=io.StringIO())
    assert bars.remaining() is None
    assert bars.status().endswith("remaining unknown (first run)")
    bars.close()


def test_kernel_output_reaches_the_log_line_by_line_and_epochs_update_the_bar():
    out = io.StringIO()
    bars = Progress(["03_relu.ipynb"], {}, file=out)
    bars.start("03_relu.ipynb")
    stream = bars.stream()
    stream.write("Epoch   7/60 · loss 0.1")
    assert "Epoch   7/60" not in out.getvalue()  # an unfinished line waits for its end
    stream.write("234 · test 98.10%\nTest acc")
    assert "Epoch   7/60 · loss 0.1234 · test 98.10%\n" in out.getvalue()
    assert "Test acc" not in out.getvalue()
    assert bars.epoch == " · epoch 7/60"
    bars.close()


def test_duration():
    assert duration(45.4) == "45 s"
    assert duration(187) == "3 min 07 s"
    assert duration(780) == "13 min"
    assert duration(3590) == "1 h 00 min"  # not "60 min"
    assert duration(3720) == "1 h 02 min"
