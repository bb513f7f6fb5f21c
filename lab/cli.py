"""Command line.

``python -m lab run`` executes the notebooks headless, each after the notebooks whose outputs it reads
(``READS``), skipping those whose inputs did not change since their last successful run
(``--dry-run`` lists what would run and why); ``python -m lab table`` rebuilds the README's tables
and the summary figures from ``results/``; ``python -m lab bench`` times training against plain Keras
and PyTorch.

Nothing here imports a Keras backend at start (``--help`` answers at once), and what TensorFlow's C++
code writes to the terminal below Python goes to the kernel log, as the kernels' does.
"""

import argparse
import contextlib
import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lab.progress import Progress
from lib import paths
from lib.experiments import CHAPTER_6, EXPERIMENTS, get_experiment
from lib.paths import MAIN_JOB_VAR, NOTEBOOKS, ROOT, output_dir
from lib.profiles import PROFILES, RETRAIN_VAR, get_profile
from lib.results import ResultError, duration

BACKENDS = ("tensorflow", "jax", "torch")
STATE_FILE = "runs.json"
KERNEL_LOG = "kernel.log"  # in .quick/tmp/
QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "2"}  # TensorFlow's C++ info and warnings, not its errors
NATIVE_LOG_LINE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::)")


@dataclass(frozen=True)
class Reads:
    """What a notebook reads of an experiment's runs, which another notebook writes: ``"results"``
    (the result of each of its runs, ``Experiment.run_names``: every seed), ``"weights"`` (the kept
    network of its seed-0 run) or ``"chosen net"`` (the experiment's own result, a choice among its
    runs, and the kept network of the run it chose). ``full_only``: read in the full profile alone
    (the quick profile trains a stand-in instead)."""

    experiment: str
    what: str
    full_only: bool = False


def opening(*experiments):
    """The kept full-profile results a notebook's opening table shows (``results.table_of``)."""
    return tuple(Reads(name, "results", full_only=True) for name in experiments)


READS = {  # notebook -> what it reads that other notebooks write: its up-to-date key and its order
    "01": opening("softmax-regression"),
    "02": opening("fc-baseline"),
    "03": opening("conv-pool-2"),
    "04": opening("relu"),
    "05": tuple(Reads(name, "results") for name, e in EXPERIMENTS.items() if e.notebook in CHAPTER_6[:-1]),
    "06": opening("dropout", "dropout-ensemble"),
    "07": (
        Reads("mnist-cnn", "weights", full_only=True),
        Reads("dropout", "chosen net", full_only=True),
        *opening("mnist-cnn"),
    ),
    "08": opening("softmax-regression", "mnist-cnn"),
    "09": opening("theano-mlp", "theano-modern-net", "theano-convnet"),
    "10": opening("dropout-ensemble", "mnist-cnn", "theano-convnet"),
    "11": opening("mnist-cnn"),
}
READS_NOTE = {  # said after it in the README's "uses" column
    "01": "its opening table",
    "02": "its opening table",
    "03": "its opening table",
    "04": "its opening table",
    "05": "its series figures",
    "06": "its opening table",
    "07": "its opening table; without the nets, small stand-ins trained here",
    "08": "its opening table",
    "09": "its opening table",
    "10": "its opening table",
    "11": "its opening table",
}


def notebooks(directory=NOTEBOOKS):
    """The numbered notebooks, by their two-digit prefix."""
    return {p.name[:2]: p for p in sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))}


def source_hash(notebook):
    """Hash of a notebook's cell sources: its outputs and papermill's injected cell do not count."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    sources = [
        (cell["cell_type"], "".join(cell["source"]))
        for cell in cells
        if "injected-parameters" not in cell.get("metadata", {}).get("tags", [])
    ]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def lib_hash():
    """Hash of the shared code and data in ``lib/``."""
    digest = hashlib.sha256()
    lib = ROOT / "lib"
    for path in sorted([*lib.glob("*.py"), *lib.glob("*.json")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def reads(number, profile):
    """The ``Reads`` of notebook ``number`` under ``profile``."""
    return [r for r in READS.get(number, ()) if get_profile(profile).is_full or not r.full_only]


def depends_on(number, profile):
    """The notebooks whose outputs notebook ``number`` reads under ``profile`` (itself left out)."""
    return {get_experiment(r.experiment).notebook for r in reads(number, profile)} - {number}


def read_files(number, profile):
    """The files notebook ``number`` reads under ``profile`` that other notebooks write, existing or
    not: ``results/<run>.<profile>.json`` and ``models/<run>.<profile>.weights.h5`` of where this
    process's profile writes (``lib.paths.output_root``: the repository in the main job)."""
    profile = get_profile(profile)
    root = paths.output_root(profile)

    def result(run):
        return root / "results" / f"{run}.{profile.name}.json"

    def weights(run):
        return root / "models" / paths.weights_name(run, profile)

    files = []
    for read in reads(number, profile):
        runs = get_experiment(read.experiment).run_names()
        if read.what == "results":
            files += [result(run) for run in runs]
        elif read.what == "weights":
            files.append(weights(read.experiment))
        else:  # "chosen net": notebook 06 falls back to the first run while there is no choice
            files += [result(read.experiment), weights(chosen_run(result(read.experiment), runs[0]))]
    return list(dict.fromkeys(files))


def chosen_run(path, default):
    """The run a selection's result file ``path`` chose (``selected_run``), else ``default``."""
    try:
        chosen = json.loads(path.read_text())["selected_run"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return default
    return chosen if isinstance(chosen, str) and chosen else default


def file_digest(path):
    """A digest of the bytes of ``path``, or ``missing``."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return "missing"


def inputs(notebook, profile, backend):
    """What decides a notebook's outputs, part by part: its sources, ``lib/``, the profile, the backend,
    the digest of each file it reads that another notebook writes (``READS``) and, for a notebook whose
    full profile needs data beyond MNIST, where that data is (``data_found``)."""
    profile = get_profile(profile)
    parts = {
        "source": source_hash(notebook),
        "lib": lib_hash(),
        "profile": profile.name,
        "backend": backend,
        "reads": {str(paths.relative(p)): file_digest(p) for p in read_files(notebook.name[:2], profile)},
    }
    return parts | (
        {"data": data_found(notebook.name[:2])} if profile.is_full and needs(notebook.name[:2]) else {}
    )


def needs(number):
    """The data beyond MNIST that notebook ``number``'s experiments need (``Experiment.needs``)."""
    return sorted({e.needs for e in EXPERIMENTS.values() if e.notebook == number and e.needs})


def data_found(number):
    """Where each dataset of ``needs(number)`` is on this machine, or ``absent``: a notebook that ran
    without it runs again once it is there."""
    from lib.data import dataset_location

    return {name: str(dataset_location(name) or "absent") for name in needs(number)}


def inputs_key(parts):
    """The up-to-date key of ``inputs``: a notebook that reads nothing of another has the key it had
    before ``READS``."""
    fields = [parts["source"], parts["lib"], parts["profile"], parts["backend"]]
    for name in ("reads", "data"):
        if parts.get(name):
            fields.append(hashlib.sha256(json.dumps(parts[name], sort_keys=True).encode()).hexdigest())
    return hashlib.sha256("|".join(fields).encode()).hexdigest()[:16]


def why(parts, record, force=False):
    """Why a notebook whose inputs are ``parts`` and whose last successful run is ``record`` is to run,
    in words; ``""`` when it is up to date."""
    if force:
        return "--force"
    if not record:
        return "no successful run recorded"
    if record.get("key") == inputs_key(parts):
        return ""
    old = record.get("inputs")
    if not isinstance(old, dict):  # a record written before the parts were kept
        return "its source, lib/ or the backend changed"
    changed = [
        f"{name} changed"
        for name, key in (("its source", "source"), ("lib/", "lib"))
        if old.get(key) != parts[key]
    ]
    if old.get("backend") != parts["backend"]:
        changed.append(f"its last run was on {old.get('backend')}")
    before = old.get("reads") if isinstance(old.get("reads"), dict) else {}
    files = sorted(p for p in {*before, *parts["reads"]} if before.get(p) != parts["reads"].get(p))
    if files:
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        changed.append(f"what it reads changed: {', '.join(files[:3])}{more}")
    found = old.get("data") if isinstance(old.get("data"), dict) else {}
    for name, where in (parts.get("data") or {}).items():
        if found.get(name, "absent") != where:
            changed.append(f"{name}: {found.get(name, 'absent')} → {where}")
    return "; ".join(changed) or "its inputs changed"


def run_order(numbers, profile):
    """``numbers`` in the order they run: by number, each after the notebooks among them it reads."""
    left, order = list(numbers), []
    while left:
        ready = [n for n in left if not depends_on(n, profile) & set(left)]
        order.append(ready[0] if ready else left[0])  # a cycle in READS: by number
        left.remove(order[-1])
    return order


def plan(order, available, profile, backend, state, force=False):
    """For the notebooks ``order``: why each is to run (``""``: up to date), and those up to date now
    that read what a notebook to run writes, each with those notebooks: they are checked again once
    those ran."""
    reasons, later, todo = {}, {}, set()
    for number in order:
        notebook = available[number]
        reasons[number] = why(inputs(notebook, profile, backend), state.get(notebook.name), force)
        first = sorted(depends_on(number, profile) & todo)
        if reasons[number] or first:
            todo.add(number)
        if not reasons[number] and first:
            later[number] = first
    return reasons, later


def load_state(profile):
    """The record of successful runs; an unreadable one counts as empty, with one warning."""
    path = output_dir("results", profile) / STATE_FILE
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text())
        if isinstance(state, dict):
            return state
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        pass
    print(
        f"Warning: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is unreadable: "
        "every notebook counts as not yet run (it is rewritten as notebooks finish).",
        file=sys.stderr,
    )
    return {}


def save_state(profile, state):
    path = output_dir("results", profile) / STATE_FILE
    path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def record_run(profile, name, record=None):
    """Set notebook ``name``'s record (``None``: remove it), under a lock: parallel jobs share the file."""
    path = output_dir("results", profile) / f"{STATE_FILE}.lock"
    with open(path, "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: no parallel jobs there
            pass
        state = load_state(profile)
        if record is None and name not in state:
            return
        state.pop(name, None)
        save_state(profile, state if record is None else {**state, name: record})


@contextlib.contextmanager
def notebook_lock(profile, notebook):
    """Hold the lock of ``notebook``'s run under ``profile`` for the block, which gets ``None``; or, when
    another process holds it, at once what that process wrote in it (its pid). Released when the block
    ends or the process does, however it ends (POSIX ``flock``)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield None
        return
    path = output_dir("tmp", "quick") / f"{get_profile(profile).name}.{Path(notebook).stem}.lock"
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            yield lock.read().strip() or "?"
            return
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield None


def probe_device(backend):
    """The device ``backend`` will train on, asked of a fresh Python; ``None`` and the error if unusable.
    TensorFlow's C++ lines stay in that Python's captured output."""
    env = {**QUIET_TENSORFLOW, **os.environ, "KERAS_BACKEND": backend}
    code = "from lib import system; print(system.device())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:
        lines = [line for line in done.stderr.strip().splitlines() if not NATIVE_LOG_LINE.match(line)]
        return None, lines[-1] if lines else f"exit code {done.returncode}"
    return done.stdout.strip().splitlines()[-1], None


@contextlib.contextmanager
def native_stderr_to(log_path):
    """For the block, send what libraries write below Python to the standard error's file descriptor
    (TensorFlow's C++ start-up lines: absl, cudart_stub, cuInit) to the file ``log_path``, as a kernel's
    goes to the kernel log; what Python writes to ``sys.stderr`` (warnings, errors) still reaches the
    terminal."""
    try:
        sys.stderr.flush()
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr (pytest's, a StringIO)
        python_on_fd2 = False
    saved = os.dup(2)
    replaced = sys.stderr
    if python_on_fd2:
        sys.stderr = open(saved, "w", buffering=1, closefd=False, errors="backslashreplace")  # noqa: SIM115
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        if python_on_fd2:
            sys.stderr.close()
            sys.stderr = replaced
        os.dup2(saved, 2)
        os.close(saved)


def execute(notebook, profile, progress=None):
    """Execute ``notebook`` with papermill under ``profile``; return the executed copy's path.

    The kernel reads the profile from ``$LAB_PROFILE`` (set by ``run``): no parameters cell is
    injected, so a committed full-profile notebook still runs quick under the tests.

    Full-profile runs replace the notebook's committed outputs, but only once it ran to the end;
    quick runs write to ``.quick/notebooks/``. The kernel's output (one line per epoch) streams to
    ``progress`` (a ``lab.progress.Progress``; default: standard output) while a bar counts the cells.
    """
    import papermill

    target = notebook if profile.is_full else output_dir("notebooks", profile) / notebook.name
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", dir=output_dir("tmp", "quick"))
    os.close(fd)
    try:
        with open(output_dir("tmp", "quick") / KERNEL_LOG, "a") as log:
            papermill.execute_notebook(
                notebook,
                tmp,
                kernel_name="python3",
                cwd=notebook.parent,
                progress_bar=progress.cell_bar() if progress else True,
                stdout_file=progress.stream() if progress else sys.stdout,
                kernel_manager_class=kernel_manager_logging_to(log),
            )
        portable_paths(Path(tmp), notebook, target)
        Path(tmp).replace(target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def kernel_manager_logging_to(log):
    """A Jupyter kernel manager whose kernels write their own log to the file ``log`` instead of the
    terminal: the TCP warning at start and, after Ctrl-C, the traceback of a reply to a closed
    socket. What a cell prints still goes to the notebook."""
    from jupyter_client import AsyncKernelManager

    class KernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw.setdefault("stderr", log)
            return await super().start_kernel(**kw)

    return KernelManager


def portable_paths(executed, notebook, target):
    """Record papermill's input and output paths relative to the repository, not this machine's."""
    nb = json.loads(executed.read_text())
    meta = nb["metadata"].get("papermill", {})
    for key, path in (("input_path", notebook), ("output_path", target)):
        path = Path(path).resolve()
        meta[key] = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    executed.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def failure_line(error):
    """The failing cell and the error's last line, from a papermill error or any other."""
    if hasattr(error, "exec_count"):
        first_line = error.source.strip().splitlines()[0] if error.source.strip() else ""
        return f"cell In [{error.exec_count}] `{first_line[:60]}`: {error.ename}: {error.evalue}"
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"


def busy_line(notebook, holder):
    """The one line that refuses a notebook another run is running."""
    return (
        f"{notebook.name} is being run by another python -m lab run (pid {holder}): not run here; "
        "run this again once that one has finished."
    )


def run(args, directory=NOTEBOOKS):
    """Execute the selected notebooks; 0 if all ran (or were up to date), 1 if any failed or was
    being run by another ``python -m lab run``."""
    try:
        profile = get_profile(args.profile)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    backend = args.backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
    available = notebooks(directory)
    selected = args.only or list(available)
    if args.jobs < 1:
        print(f"error: --jobs must be 1 or more, not {args.jobs}", file=sys.stderr)
        return 2
    unknown = [n for n in selected if n not in available]
    if unknown:
        print(f"error: unknown notebook(s) {unknown}; choose from {' '.join(available)}", file=sys.stderr)
        return 2
    child = args.no_summary  # a lane of a parallel run: its parent printed the plan
    if getattr(args, "dry_run", False):
        return dry_run(args, profile, backend, available, selected)
    device, problem = (args.device, None) if getattr(args, "device", None) else probe_device(backend)
    if problem:
        print(
            f"error: the {backend} backend cannot run here ({problem}); install it or choose another "
            f"of {', '.join(BACKENDS)}",
            file=sys.stderr,
        )
        return 2
    os.environ.update(LAB_PROFILE=profile.name, KERAS_BACKEND=backend)
    if args.force:
        os.environ[RETRAIN_VAR] = "1"  # and train again the networks that were kept
    state = load_state(profile)
    order = run_order(selected, profile)
    reasons, later = plan(order, available, profile, backend, state, args.force)
    todo = [n for n in order if reasons[n] or n in later]
    if not child:
        print(f"Profile {profile.name} · backend {backend} · device {device}")
        print(plan_line(order, selected, reasons, later, state, available))
    elif len(todo) < len(order):
        print(f"up to date, skipped: {' '.join(n for n in order if n not in todo)}")
    if args.jobs > 1 and len(todo) > 1 and hasattr(os, "sched_getaffinity"):
        estimates = {n: state.get(available[n].name, {}).get("seconds", 0) for n in todo}
        failed = run_in_parallel(args, profile, backend, device, todo, estimates, directory)
        return failed if failed == 130 else finish(args, profile, failed)
    failed, busy = [], []
    names = [available[n].name for n in todo]
    progress = Progress(names, {name: state[name]["seconds"] for name in names if name in state})
    try:
        for number in todo:
            notebook = available[number]
            progress.start(notebook.name)
            with notebook_lock(profile, notebook) as holder:
                if holder is not None:
                    busy.append(notebook.name)
                    progress.write(f"    {busy_line(notebook, holder)}")
                    progress.done(notebook.name)
                    continue
                parts = inputs(notebook, profile, backend)  # after what it reads has run
                if not why(parts, load_state(profile).get(notebook.name), args.force):
                    progress.write("    up to date: what it reads did not change; skipped")
                    progress.done(notebook.name)
                    continue
                began = time.perf_counter()
                record_run(profile, notebook.name)  # not up to date until this run of it finishes
                try:
                    target = execute(notebook, profile, progress)
                except KeyboardInterrupt:
                    rest = todo[todo.index(number) :]
                    hint = "" if args.no_summary else f" {how_to_continue(args, profile, backend, rest)}"
                    print(f"\nInterrupted in {notebook.name}.{hint}", file=sys.stderr)  # a parallel run's
                    return 130  # child (--no-summary) leaves the hint to its parent, which knows every lane
                except Exception as error:  # one failing notebook must not stop the others
                    failed.append((notebook.name, failure_line(error)))
                    progress.write(f"    FAILED: {failed[-1][1]}")
                    progress.done(notebook.name)
                    continue
                seconds = time.perf_counter() - began
                record = {
                    "key": inputs_key(parts),
                    "inputs": parts,
                    "seconds": round(seconds, 1),
                    "backend": backend,
                    "device": device,
                    "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                record_run(profile, notebook.name, record)
            shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
            progress.write(f"    wrote {shown} in {duration(seconds)}")
            progress.done(notebook.name)
    finally:
        progress.close()
    for name, line in failed:
        print(f"FAILED {name}: {line}", file=sys.stderr)
    return finish(args, profile, bool(failed or busy))


def plan_line(order, selected, reasons, later, state, available):
    """``3 of 11 notebooks to run; up to date, skipped ...``: the plan of a run in one line."""
    to_run = [n for n in order if reasons[n]]
    skipped = [n for n in selected if not reasons[n] and n not in later]
    estimate = sum(state.get(available[n].name, {}).get("seconds", 0) for n in to_run)
    shown = [n for n in order if n in to_run or n in later]
    return (
        f"{len(to_run)} of {len(selected)} notebooks to run"
        + (f"; up to date, skipped (use --force to rerun): {' '.join(skipped)}" if skipped else "")
        + (
            f"; up to date unless what they read changes, checked once it ran: {' '.join(later)}"
            if later
            else ""
        )
        + (f"; in this order: {' '.join(shown)}" if shown != sorted(shown) else "")
        + (f"; the last runs of these took {duration(estimate)}" if estimate else "")
    )


def dry_run(args, profile, backend, available, selected):
    """Print what ``run`` would run and why, in the order it would, without running anything."""
    state = load_state(profile)
    order = run_order(selected, profile)
    reasons, later = plan(order, available, profile, backend, state, args.force)
    print(f"Profile {profile.name} · backend {backend} · dry run: nothing is executed")
    width = max((len(available[n].name) for n in order), default=0)
    for number in order:
        if reasons[number]:
            status = f"to run: {reasons[number]}"
        elif number in later:
            status = f"up to date; checked again once {' '.join(later[number])} ran, whose outputs it reads"
        else:
            status = "up to date"
        print(f"  {available[number].name:<{width}}  {status}")
    print(plan_line(order, selected, reasons, later, state, available))
    return 0


def finish(args, profile, failed):
    """The summary after a run (and, in full, the README's tables and figures); the exit code."""
    if args.no_summary:
        return 1 if failed else 0
    try:
        from lib.results import markdown_table, summary_rows

        if profile.is_full:
            table()
        print(f"\nSummary ({profile.name} profile):\n" + markdown_table(summary_rows(profile)))
    except ResultError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the summary must not hide which notebooks ran or failed
        print(f"error: the summary could not be built: {failure_line(error)}", file=sys.stderr)
        return 1
    return 1 if failed else 0


def table():
    """``python -m lab table``: the README's tables and the summary figures, rebuilt from ``results/``.
    Every results file they read is read first: a damaged one raises ``ResultError`` naming it before
    anything is written."""
    from lab import readme
    from lib.results import SUMMARY_KEYS, SUMMARY_NUMBERS, read_result

    for experiment in EXPERIMENTS.values():
        for name in experiment.run_names():
            read_result(name, "full", require=SUMMARY_KEYS, numbers=SUMMARY_NUMBERS)
    readme.notebooks_table()
    readme.update_summary()
    return 0


def next_ready(pending, done, needs, estimates):
    """The notebook of ``pending`` to start next: of those whose ``needs`` (the notebooks they wait
    for) are all ``done``, the longest by ``estimates``, the first on ties; ``None`` if none is ready."""
    ready = [n for n in pending if needs.get(n, set()) <= set(done)]
    return max(ready, key=lambda n: (estimates.get(n, 0), -pending.index(n)), default=None)


def run_in_parallel(args, profile, backend, device, todo, estimates, directory=NOTEBOOKS):
    """Run the notebooks ``todo`` in ``args.jobs`` lanes at once, each lane on its own share of the CPU
    cores (a notebook's kernel inherits them, and the backend sizes its thread pools to them), one
    child run per notebook: a notebook starts once the notebooks of ``todo`` it reads have finished,
    the longest first by ``estimates``. Their lines are printed as they come, each behind its
    notebook's number. Returns whether any notebook failed, or 130 after an interrupt."""
    started = datetime.now(UTC).replace(microsecond=0)
    cores = sorted(os.sched_getaffinity(0))
    jobs = min(args.jobs, len(cores), len(todo))
    shares = [_cores(cores, lane, jobs) for lane in range(jobs)]
    needs = {n: depends_on(n, profile) & set(todo) for n in todo}
    waits = "; ".join(f"{n} after {' '.join(sorted(needs[n]))}" for n in todo if needs[n])
    print(
        f"{jobs} jobs at once, on core(s) {' · '.join(' '.join(map(str, s)) for s in shares)}: the longest "
        "notebooks first" + (f", each after what it reads ({waits})" if waits else "")
    )
    pending, done, running, codes = list(todo), [], {}, []
    finished = queue.Queue()
    try:
        while pending or running:
            while 130 not in codes and len(running) < jobs:
                number = next_ready(pending, done, needs, estimates)
                if number is None:
                    break
                lane = next(i for i in range(jobs) if i not in running)
                pending.remove(number)
                child = _start_child(args, profile, backend, device, number, shares[lane], directory)
                reader = threading.Thread(target=_relay, args=(child, number, lane, finished), daemon=True)
                reader.start()
                running[lane] = (child, reader)
            if not running:
                break  # interrupted: nothing more starts
            lane, number, code = finished.get()
            running.pop(lane)[1].join()
            done.append(number)
            codes.append(code)
    except KeyboardInterrupt:
        for child, reader in running.values():
            child.wait()  # each saves its checkpoint and says so
            reader.join()
        codes.append(130)
    if 130 in codes:
        rest = unfinished(profile, todo, directory, started)
        print(f"\nInterrupted. {how_to_continue(args, profile, backend, rest)}", file=sys.stderr)
        return 130
    return any(codes)


def _start_child(args, profile, backend, device, number, share, directory):
    command = [sys.executable, "-m", "lab", "run", "--profile", profile.name, "--backend", backend]
    command += ["--only", number, "--no-summary", "--notebooks", str(directory), "--device", device]
    command += ["--force"] if args.force else []
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        preexec_fn=lambda: os.sched_setaffinity(0, set(share)),
    )


def unfinished(profile, todo, directory, since):
    """The notebooks of ``todo`` whose run did not finish since ``since``: no record in ``runs.json``
    (a child clears it as it starts a notebook) or an older one (a notebook it never reached)."""
    state, available = load_state(profile), notebooks(directory)

    def finished(number):
        try:
            return datetime.fromisoformat(state[available[number].name]["finished_at"]) >= since
        except (KeyError, TypeError, ValueError):
            return False

    return [number for number in todo if not finished(number)]


def _cores(cores, lane, lanes):
    """The cores of lane ``lane`` of ``lanes``: an even share of ``cores``."""
    return cores[lane::lanes]


def _relay(child, number, lane, finished):
    """Print a child run's lines, each behind the number of its notebook; then put ``(lane, number,
    exit code)`` on the queue ``finished``."""
    for line in child.stdout:
        print(f"{number} │ {line}", end="", flush=True)
    finished.put((lane, number, child.wait()))


def how_to_continue(args, profile, backend, rest):
    """What to type after an interrupt to finish the run, whose notebooks ``rest`` did not finish: the
    same command, or after ``--force`` (which would rerun the finished ones too) only ``rest``."""
    if not args.force:
        return (
            "Run the same command again: finished notebooks are skipped and an interrupted training "
            "resumes from its last completed epoch."
        )
    if not rest:
        return "Every notebook of this forced run had finished."
    command = (
        f"python -m lab run --force --only {' '.join(rest)} --profile {profile.name} --backend {backend}"
    )
    command += f" --jobs {args.jobs}" if args.jobs > 1 else ""
    return f"To finish this forced run: {command}; an interrupted training resumes from its last epoch."


def uses(number):
    """What notebook ``number`` reads that other notebooks write, in words, from ``READS`` (the README's
    "uses" column)."""
    declared = READS.get(number, ())
    results = sorted({get_experiment(r.experiment).notebook for r in declared if r.what == "results"})
    parts = [f"the results of {_numbers_text(results)}"] if results else []
    for r in declared:
        made_in = get_experiment(r.experiment).notebook
        if r.what == "weights":
            parts.append(f"{made_in}'s `{r.experiment}` net")
        elif r.what == "chosen net":
            parts.append(f"{made_in}'s chosen `{r.experiment}` net")
    text = _and(parts)
    return f"{text} ({READS_NOTE[number]})" if text and number in READS_NOTE else text


def _numbers_text(numbers):
    """``00–04, 07, 08 and 10``: notebook numbers, three or more in a row as a range."""
    runs = []
    for number in numbers:
        if runs and int(number) == int(runs[-1][-1]) + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    items = []
    for r in runs:
        items += [f"{r[0]}–{r[-1]}"] if len(r) > 2 else r
    return _and(items)


def _and(items):
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="execute the notebooks headless")
    run_parser.add_argument("--profile", choices=list(PROFILES), help="default: $LAB_PROFILE or full")
    run_parser.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers, e.g. --only 00 01")
    run_parser.add_argument(
        "--backend", choices=BACKENDS, help="Keras backend; default $KERAS_BACKEND or tensorflow"
    )
    run_parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run N notebooks at once, each on its own share of the CPU cores (default 1)",
    )
    run_parser.add_argument("--no-summary", action="store_true", help=argparse.SUPPRESS)
    run_parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)
    run_parser.add_argument("--device", help=argparse.SUPPRESS)  # a parallel run's child: probed already
    run_parser.add_argument(
        "--force",
        action="store_true",
        help="rerun notebooks that are up to date and train their kept networks again",
    )
    run_parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list the notebooks that would run, in their order, and why; run nothing",
    )
    commands.add_parser("table", help="rebuild the README's tables and the summary figures from results/")
    pool_parser = commands.add_parser(
        "pool-rule", help="train network3 nets with Keras' and Theano's max-pool gradient, and compare"
    )
    pool_parser.add_argument("--nets", nargs="+", default=["relu", "conv-pool-2"], metavar="NET")
    pool_parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3], metavar="SEED")
    pool_parser.add_argument("--epochs", type=int, default=12)
    bench_parser = commands.add_parser(
        "bench", help="training samples/s of ours, Keras defaults and PyTorch (needs torch==2.13.0)"
    )
    bench_parser.add_argument("--nets", nargs="+", metavar="NET", help="default: all five network3 nets")
    bench_parser.add_argument("--batch-sizes", nargs="+", type=int, help="default: lab.bench.BATCH_SIZES")
    bench_parser.add_argument("--samples", type=int, help="per timed pass (default: 500 or 64 batches)")
    bench_parser.add_argument(
        "--repeats", type=int, default=5, help="timed passes per contender, interleaved in rotating order"
    )
    bench_parser.add_argument("--out", type=Path, help="write bench.json/.md here, not results/ + README")
    bench_parser.add_argument(
        "--phases",
        action="store_true",
        help="instead: ms per step by phase (forward, backward, update), TensorFlow against PyTorch",
    )
    args = parser.parse_args(argv)
    for name, value in QUIET_TENSORFLOW.items():
        os.environ.setdefault(name, value)  # before any backend loads, here or in a child
    os.environ[MAIN_JOB_VAR] = "1"  # this process and its kernels write the committed outputs
    try:
        if args.command == "table":
            return table()
        if args.command == "run":
            return run(args, args.notebooks)
        with native_stderr_to(output_dir("tmp", "quick") / KERNEL_LOG):  # these load the backend here
            if args.command == "bench":
                return bench(args, argv)
            from lab import pool_rule

            return pool_rule.main(args)
    except ResultError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def bench(args, argv):
    """Run the benchmark, print it and record it in ``results/`` and the README (or in ``--out``)."""
    from lab import bench as benchmark
    from lab.readme import BENCH_END, BENCH_START, replace_block
    from lib import system

    unknown = sorted(set(args.nets or []) - set(benchmark.NETS))
    if unknown:
        print(f"error: unknown net(s) {unknown}; choose from {' '.join(benchmark.NETS)}", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
    except ImportError:
        print("error: the benchmark needs PyTorch: pip install -r requirements-backends.txt", file=sys.stderr)
        return 2
    command = "python -m lab " + " ".join(argv if argv is not None else sys.argv[1:])
    batch_sizes = args.batch_sizes or benchmark.BATCH_SIZES
    directory = args.out or output_dir("results", "full")
    if args.phases:
        rows = benchmark.phase_profile(args.nets or ("conv-pool-1", "relu"), batch_sizes, args.repeats)
        text = benchmark.phases_markdown(rows, command)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "bench_phases.json").write_text(json.dumps(rows, indent=1) + "\n")
        (directory / "bench_phases.md").write_text(text)
        print("\n" + text)
        return 0
    nets = args.nets or list(benchmark.NETS)
    matmul_n = 2048
    gflops = system.matmul_gflops(matmul_n)
    print(f"{matmul_n}² float32 matmul: {gflops:.1f} GFLOP/s")
    rows = benchmark.benchmark(nets, batch_sizes, args.samples, args.repeats, gflops=gflops)
    report = benchmark.report(rows, args.repeats, command, gflops=gflops, matmul_n=matmul_n)
    text = benchmark.write(report, directory)
    if args.out is None:
        replace_block(ROOT / "README.md", BENCH_START, BENCH_END, text)
    print("\n" + text)
    return 0
