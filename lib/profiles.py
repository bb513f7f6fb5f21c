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

    ``train_size`` caps the number of training images, ``max_epochs`` the number of epochs,
    ``max_members`` the number of networks in an ensemble, ``eval_size`` the number of validation
    and test images measured after every epoch and ``base_size`` the number of original images that
    the expanded-data notebooks expand five-fold (``None``: the published number).
    ``reuse_trained``: a finished run is loaded from its kept weights instead of being trained again
    (``lib.training``); off in ``quick``, so CI and smoke runs always train.
    """

    name: str
    train_size: int | None
    max_epochs: int | None
    max_members: int | None
    eval_size: int | None = None
    base_size: int | None = None
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

    def epochs(self, published):
        """The number of epochs to run for an experiment published with ``published`` epochs."""
        return published if self.max_epochs is None else min(published, self.max_epochs)

    def members(self, published):
        """The number of networks to train for an ensemble published with ``published`` members."""
        return published if self.max_members is None else min(published, self.max_members)

    def take(self, n):
        """How many of ``n`` available training images to use."""
        return n if self.train_size is None else min(n, self.train_size)

    def expansion_base(self, n):
        """How many of ``n`` original training images to expand with their four shifted copies."""
        return n if self.base_size is None else min(n, self.base_size)

    def evaluation_set(self, pair):
        """The first ``eval_size`` images and labels of a validation or test ``pair`` (all in full)."""
        if pair is None or self.eval_size is None:
            return pair
        return tuple(array[: self.eval_size] for array in pair)


PROFILES = {
    "quick": Profile(
        "quick",
        train_size=10_000,
        max_epochs=3,
        max_members=3,
        eval_size=2_000,
        base_size=1_000,
    ),
    "full": Profile("full", train_size=None, max_epochs=None, max_members=None, reuse_trained=True),
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
