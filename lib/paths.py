"""Where outputs go: the main job's full-profile outputs into the repository, everything else into
ignored folders.

``python -m lab run`` (the main job) marks its kernels with ``$LAB_MAIN_JOB``; only they write the
committed ``figs/``, ``results/`` and ``models/``. A full-profile kernel that a person runs in
Jupyter writes into ``.interactive/`` and reads the committed files (the kept networks, the
results), and a quick run (CI, smoke tests) uses ``.quick/``: neither changes a committed file.

A finished run is kept as ``results/<run>.<profile>.json`` beside ``models/<run>.<profile>.weights.h5``.
A kernel run by hand also keeps each variant it trains under its run key,
``.interactive/results/<run>.<key>.full.json`` (and its weights), so that the committed run and
every edit of it a student trained load again when their cell runs again (``kept_files``).
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


def keeps_variants(profile=None):
    """Whether this process keeps the runs it trains under their run keys: a full-profile kernel run
    by hand (its runs are variants of the committed ones), not the main job nor the quick profile."""
    return get_profile(profile).is_full and output_root(profile) != ROOT


def variant_stem(run, key, profile=None):
    """``<run>.<key>.<profile>``: the name of a variant's files, ``.json`` in ``results/`` and
    ``.weights.h5`` in ``models/``."""
    return f"{run}.{key}.{get_profile(profile).name}"


def kept_files(run, profile=None):
    """The result files that may hold a finished run named ``run``, the existing ones, in the order
    they are tried: the committed ``results/<run>.<profile>.json``, then (in a kernel run by hand)
    this kernel's own ``results/<run>.<profile>.json`` (the run it last used) and its variants
    ``results/<run>.<key>.<profile>.json``, the newest first."""
    profile = get_profile(profile)
    plain = f"{run}.{profile.name}.json"
    found = [root / "results" / plain for root in reversed(read_roots(profile))]
    if keeps_variants(profile):
        pattern = f"{run}.{'[0-9a-f]' * 16}.{profile.name}.json"
        variants = (output_root(profile) / "results").glob(pattern)
        found += sorted(variants, key=lambda p: p.stat().st_mtime, reverse=True)
    return [path for path in dict.fromkeys(found) if path.exists()]


def weights_beside(result_file):
    """The weights file kept beside the result file ``<root>/results/<stem>.json``:
    ``<root>/models/<stem>.weights.h5``."""
    return result_file.parent.parent / "models" / f"{result_file.name.removesuffix('.json')}.weights.h5"


def checkpoint_dir(experiment, profile=None, key=None):
    """The directory holding an unfinished run's last completed epoch, under ``output_root``: the
    main job's are committed (``checkpoints/``), so a long run resumes in a later session or clone.
    In a kernel run by hand, a run of key ``key`` has its own (``<run>.<key>``), so that each variant
    a student interrupts resumes where it stopped."""
    name = f"{experiment}.{key}" if key is not None and keeps_variants(profile) else experiment
    return output_root(profile) / "checkpoints" / name


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
