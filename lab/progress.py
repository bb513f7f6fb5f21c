"""Progress of ``python -m lab run``: an overall bar across the notebooks with elapsed and remaining
time, the current notebook's bar of cells, and its output (one line per epoch) printed above both.

The remaining time comes from how long the last successful runs of the same notebooks took. On a
terminal the overall bar ticks every second, so a long training cell never looks hung; in a log
file (CI) the bars are off and only the lines are written.
"""

import re
import sys
import threading
import time

from tqdm import tqdm

from lib.results import duration

EPOCH = re.compile(r"Epoch\s+(\d+)/(\d+)")


class Progress:
    """Bars and lines for a run of ``names`` (notebook file names); ``estimates`` maps a name to
    the seconds its last successful run took."""

    def __init__(self, names, estimates, file=None, tick=1.0):
        self.names, self.estimates = list(names), dict(estimates)
        self.file = file or sys.stdout
        self.current, self.epoch, self.finished = None, "", []
        self.started = self.notebook_started = time.perf_counter()
        self.bar = tqdm(
            total=len(self.names),
            unit="notebook",
            position=0,
            file=self.file,
            disable=None,  # off when ``file`` is not a terminal
            bar_format="{desc} |{bar}| {n_fmt}/{total_fmt} notebooks{postfix}",
        )
        self.stop = threading.Event()
        if not self.bar.disable:
            threading.Thread(target=self._tick, args=(tick,), daemon=True).start()

    def remaining(self):
        """Estimated seconds left, or ``None`` when a notebook still to run has no past run."""
        left = [n for n in self.names if n not in self.finished]
        if any(n not in self.estimates for n in left):
            return None
        running = time.perf_counter() - self.notebook_started if self.current else 0
        return sum(max(self.estimates[n] - (running if n == self.current else 0), 0) for n in left)

    def status(self):
        """``elapsed 3 min 07 s · remaining ≈ 1 min 10 s`` (or ``remaining unknown``)."""
        left = self.remaining()
        estimate = f"remaining ≈ {duration(left)}" if left is not None else "remaining unknown (first run)"
        return f"elapsed {duration(time.perf_counter() - self.started)} · {estimate}"

    def start(self, name):
        """Announce notebook ``name`` with a line and in the bar."""
        self.current, self.epoch, self.notebook_started = name, "", time.perf_counter()
        index = self.names.index(name) + 1
        self.write(f"\n[{index}/{len(self.names)}] {name} · {self.status()}")
        self._refresh()

    def done(self, name):
        """Count notebook ``name`` as finished (successfully or not)."""
        self.finished.append(name)
        self.current, self.epoch = None, ""
        self.bar.update(1)
        self._refresh()

    def cell_bar(self):
        """papermill's ``progress_bar`` option: the current notebook's cells, under the overall bar."""
        disable = self.bar.disable
        return {"desc": "cells", "position": 1, "leave": False, "file": self.file, "disable": disable}

    def write(self, line):
        """Print ``line`` above the bars; an ``Epoch i/n`` line also updates the bar's description."""
        found = EPOCH.search(line)
        if found:
            self.epoch = f" · epoch {found[1]}/{found[2]}"
            self._refresh()
        tqdm.write(line, file=self.file)

    def stream(self):
        """A file-like object for the kernel's output: whole lines go to ``write``."""
        return _Lines(self.write)

    def close(self):
        self.stop.set()
        self.bar.close()

    def _refresh(self):
        self.bar.set_description_str(f"{self.current or 'done'}{self.epoch}", refresh=False)
        self.bar.set_postfix_str(self.status(), refresh=False)
        self.bar.refresh()

    def _tick(self, seconds):
        while not self.stop.wait(seconds):
            self._refresh()


class _Lines:
    """Collects written text and hands on each complete line."""

    def __init__(self, emit):
        self.emit, self.buffer = emit, ""

    def write(self, text):
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            self.emit(line)

    def flush(self):
        pass
