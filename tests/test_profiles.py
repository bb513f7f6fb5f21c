import numpy as np
import pytest

from lib.profiles import get_profile


def test_env_var_selects_profile(monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "quick")
    assert get_profile().name == "quick"
    monkeypatch.delenv("LAB_PROFILE")
    assert get_profile().name == "full"


def test_explicit_name_overrides_env_var(monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "quick")
    assert get_profile("full").name == "full"
    assert get_profile(" Quick ").name == "quick"


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"unknown profile 'fast': choose one of quick, full"):
        get_profile()


def test_quick_measures_a_prefix_of_the_evaluation_sets_and_full_all_of_them():
    x, y = np.arange(10_000 * 2).reshape(10_000, 2), np.arange(10_000)
    quick_x, quick_y = get_profile("quick").evaluation_set((x, y))
    assert 0 < len(quick_x) == len(quick_y) < 10_000 and (quick_y == y[: len(quick_y)]).all()
    assert get_profile("full").evaluation_set((x, y)) == (x, y)
    assert get_profile("quick").evaluation_set(None) is None


def test_pick_gives_each_profile_its_value():
    assert get_profile("full").pick(full=60, quick=3) == 60
    assert get_profile("quick").pick(full=60, quick=3) == 3
