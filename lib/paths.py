"""Where outputs go: the main job's full-profile outputs into the repository, everything else into
ignored folders.

``python -m lab run`` (the main job) marks its kernels with ``$LAB_MAIN_JOB``; only they write the
committed ``figs/``, ``results/`` and ``models/``. A full-profile kernel that a person runs in
Jupyter writes into ``.interactive/`` and reads the committed files (the kept networks, the
results), and a quick run (CI, smoke tests) uses ``.quick/``: neither changes a committed file.
"""

import os
from pathlib import Path

from lib.profiles import get_profile

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
QUICK_ROOT = Path(os.environ.get("LAB_QUICK_ROOT") or ROOT / ".quick")  # quick outputs (ignored)
MAIN_JOB_VAR = "LAB_MAIN_JOB"  # "1" in python -m lab run and its kernels


def output_root(profile=None):
    """Where ``profile``'s outputs are written: the repository (the main job's full profile),
    ``.interactive/`` (a full-profile kernel run by hand) or ``.quick/``."""
    if not get_profile(profile).is_full:
        return QUICK_ROOT
    return ROOT if os.environ.get(MAIN_JOB_VAR) == "1" else ROOT / ".interactive"


def output_dir(kind, profile=None):
    """The directory for ``kind`` (``figs``, ``results``, ``models``...) under ``profile``, created."""
    path = output_root(profile) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_roots(profile=None):
    """Where ``profile``'s stored outputs are looked up: where this process writes them, then (for a
    full-profile kernel run by hand) the committed ones."""
    roots = [output_root(profile)]
    return roots + [ROOT] if get_profile(profile).is_full and roots[0] != ROOT else roots


def stored(kind, name, profile=None):
    """The first existing ``<root>/kind/name`` of ``read_roots``, or ``None``."""
    return next((root / kind / name for root in read_roots(profile) if (root / kind / name).exists()), None)


def checkpoint_dir(experiment, profile=None):
    """The directory holding an unfinished run's last completed epoch, under ``output_root``: the
    main job's are committed (``checkpoints/``), so a long run resumes in a later session or clone."""
    return output_root(profile) / "checkpoints" / experiment


def weights_name(experiment, profile=None):
    """``<experiment>.<profile>.weights.h5``: the final weights of a finished run, under ``models/``."""
    return f"{experiment}.{get_profile(profile).name}.weights.h5"


def trained_weights_path(experiment, profile=None):
    """Where a finished run's weights are written (``models/`` of ``output_root``)."""
    return output_dir("models", profile) / weights_name(experiment, profile)


def relative(path):
    """``path`` relative to the repository when it lies inside it, for messages."""
    try:
        return Path(path).relative_to(ROOT)
    except ValueError:
        return Path(path)
