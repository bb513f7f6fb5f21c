"""Where outputs go: full-profile outputs into the repository, quick ones into ignored ``.quick/``.

A quick run (CI, smoke tests) therefore never overwrites the committed full-profile figures and
results.
"""

from pathlib import Path

from lib.profiles import get_profile

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
QUICK_ROOT = ROOT / ".quick"


def output_dir(kind, profile=None):
    """The directory for ``kind`` (``figs``, ``results``, ``notebooks``) under ``profile``, created."""
    base = ROOT if get_profile(profile).is_full else QUICK_ROOT
    path = base / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_dir(experiment, profile=None):
    """The (ignored) directory holding an interrupted run's last completed epoch."""
    return ROOT / ".checkpoints" / get_profile(profile).name / experiment


def trained_model_path(name, profile=None):
    """Where a notebook keeps the weights of a trained model for a later notebook (ignored by git)."""
    path = ROOT / ".checkpoints" / get_profile(profile).name / "trained-models" / f"{name}.weights.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
