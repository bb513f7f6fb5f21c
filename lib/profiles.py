"""The profile switch: ``quick`` for CI and smoke runs, ``full`` for the published settings.

The profile is chosen by the environment variable ``LAB_PROFILE`` (default ``full``) and can be
overridden in a notebook's papermill ``parameters`` cell.  ``quick`` runs the same code path as
``full`` on a smaller training set and fewer epochs, so that every notebook executes in minutes on a
2-core CPU.
"""

import os
from dataclasses import dataclass

ENV_VAR = "LAB_PROFILE"
DEFAULT = "full"
RETRAIN_VAR = "LAB_RETRAIN"  # "1": train again the runs a profile would reuse (python -m lab run --force)


@dataclass(frozen=True)
class Profile:
    """How much of an experiment to run.

    A notebook picks each of its settings with ``pick(full=..., quick=...)``. ``eval_size`` caps the
    number of validation and test images measured after every epoch (``None``: all of them).
    ``reuse_trained``: a finished run is loaded from its kept weights instead of being trained again
    (``lib.training``); off in ``quick``, so CI and smoke runs always train.
    """

    name: str
    eval_size: int | None = None
    reuse_trained: bool = False

    @property
    def is_full(self):
        return self.name == "full"

    def pick(self, *, full, quick):
        """This profile's value of a setting: ``full``, the published one, or ``quick``, the smoke run's."""
        return full if self.is_full else quick

    def reuses_kept_runs(self):
        """Whether a finished run is loaded instead of trained again: ``reuse_trained``, unless
        ``$LAB_RETRAIN`` is ``1`` (``python -m lab run --force``)."""
        return self.reuse_trained and os.environ.get(RETRAIN_VAR, "") != "1"

    def evaluation_set(self, pair):
        """The first ``eval_size`` images and labels of a validation or test ``pair`` (all in full)."""
        if pair is None or self.eval_size is None:
            return pair
        return tuple(array[: self.eval_size] for array in pair)


PROFILES = {
    "quick": Profile("quick", eval_size=2_000),
    "full": Profile("full", reuse_trained=True),
}


def get_profile(name=None):
    """Return the profile called ``name``, or the one named by ``$LAB_PROFILE`` (default ``full``).

    Raises ``ValueError`` naming the valid choices for an unknown name.
    """
    if isinstance(name, Profile):
        return name
    if name is None:
        name = os.environ.get(ENV_VAR) or DEFAULT
    key = str(name).strip().lower()
    if key not in PROFILES:
        choices = ", ".join(PROFILES)
        raise ValueError(
            f"unknown profile {name!r}: choose one of {choices} "
            f"(set {ENV_VAR} or the notebook's PROFILE parameter)"
        )
    return PROFILES[key]
