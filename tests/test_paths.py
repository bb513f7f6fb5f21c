"""Where a kept run is looked up: the committed file and every variant a kernel run by hand trained."""

import os

from lib import paths


def touch(path, mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_a_kernel_run_by_hand_looks_in_the_committed_file_its_current_run_and_its_variants(
    isolated_outputs, monkeypatch
):
    committed = touch(isolated_outputs / "results" / "relu.full.json")
    interactive = isolated_outputs / ".interactive" / "results"
    current = touch(interactive / "relu.full.json")
    older = touch(interactive / "relu.0123456789abcdef.full.json", mtime=1_000)
    newer = touch(interactive / "relu.fedcba9876543210.full.json", mtime=2_000)
    touch(interactive / "relu-seed1.0123456789abcdef.full.json")  # another run
    touch(interactive / "relu.full.json.lock")
    assert paths.kept_files("relu", "full") == [committed]  # the main job: the committed files only
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    assert paths.kept_files("relu", "full") == [committed, current, newer, older]
    assert (
        paths.weights_beside(newer)
        == isolated_outputs / ".interactive/models/relu.fedcba9876543210.full.weights.h5"
    )
    assert paths.weights_beside(committed) == isolated_outputs / "models" / "relu.full.weights.h5"


def test_variants_and_their_checkpoints_are_named_by_key_only_in_a_kernel_run_by_hand(monkeypatch):
    assert not paths.keeps_variants("full") and not paths.keeps_variants("quick")
    assert paths.checkpoint_dir("relu", "full", key="0123456789abcdef") == paths.ROOT / "checkpoints" / "relu"
    monkeypatch.delenv(paths.MAIN_JOB_VAR)
    assert paths.keeps_variants("full") and not paths.keeps_variants("quick")
    assert paths.variant_stem("relu", "0123456789abcdef", "full") == "relu.0123456789abcdef.full"
    interactive = paths.ROOT / ".interactive" / "checkpoints"
    assert (
        paths.checkpoint_dir("relu", "full", key="0123456789abcdef") == interactive / "relu.0123456789abcdef"
    )
    assert paths.checkpoint_dir("relu", "full") == interactive / "relu"
