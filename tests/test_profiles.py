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


def test_quick_shrinks_and_full_keeps_published_settings():
    quick, full = get_profile("quick"), get_profile("full")
    assert full.epochs(60) == 60 and full.take(50_000) == 50_000
    assert quick.epochs(60) < 60 and quick.take(50_000) < 50_000
    assert quick.epochs(2) == 2
    assert full.members(5) == 5 and 2 < quick.members(5) < 5
