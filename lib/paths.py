"""Where outputs go: full-profile outputs into the repository, quick ones into ignored ``.quick/``.

A quick run (CI, smoke tests) therefore never overwrites the committed full-profile figures and
results.
"""

import os
from pathlib import Path

from lib.profiles import get_profile

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
QUICK_ROOT = Path(os.environ.get("LAB_QUICK_ROOT") or ROOT / ".quick")  # quick outputs (ignored)


def output_dir(kind, profile=None):
    """The directory for ``kind`` (``figs``, ``results``, ``models``...) under ``profile``, created."""
    base = ROOT if get_profile(profile).is_full else QUICK_ROOT
    path = base / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_dir(experiment, profile=None):
    """The (ignored) directory holding an interrupted run's last completed epoch."""
    return ROOT / ".checkpoints" / get_profile(profile).name / experiment


def trained_weights_path(experiment, profile=None):
    """The final weights of a finished run: ``models/`` (committed) in full, ``.quick/models/`` in quick."""
    profile = get_profile(profile)
    return output_dir("models", profile) / f"{experiment}.{profile.name}.weights.h5"


def relative(path):
    """``path`` relative to the repository when it lies inside it, for messages."""
    try:
        return Path(path).relative_to(ROOT)
    except ValueError:
        return Path(path)
