"""Settings: declared once, documented, resolved in order defaults → toml → env → test."""

from __future__ import annotations

import re

import pytest

from content.settings import SETTINGS, SettingsError, load_settings, resolve_data_dir
from tests.conftest import REPO


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.M))
    declared = {s.name for s in SETTINGS}
    assert declared - documented == set(), "settings missing from README.md"
    assert documented - declared == set(), "README.md documents settings that do not exist"
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name


def test_resolution_order(tmp_path):
    (tmp_path / "readpoint.toml").write_text('page_size = 7\nthreads = 3\nsearch_engine = "whoosh"\n')
    env = {"READPOINT_THREADS": "5", "READPOINT_LOAD_STARTER": "false"}
    values = load_settings(tmp_path, {"search_engine": "fts5"}, environ=env)
    assert values["page_size"] == 7  # toml over default
    assert values["threads"] == 5  # env over toml
    assert values["load_starter"] is False
    assert values["search_engine"] == "fts5"  # test mapping over everything


def test_bad_values_are_clear_errors(tmp_path):
    with pytest.raises(SettingsError, match="threads"):
        load_settings(tmp_path, environ={"READPOINT_THREADS": "many"})
    (tmp_path / "readpoint.toml").write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="no_such_setting"):
        load_settings(tmp_path, environ={})
    (tmp_path / "readpoint.toml").write_text("page_size = [\n")
    with pytest.raises(SettingsError):
        load_settings(tmp_path, environ={})


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("READPOINT_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("READPOINT_DATA")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir(None) == tmp_path / "var"


@pytest.mark.parametrize("text, name", [
    ('default_locale = "fr"\n', "default_locale"),
    ('search_engine = "lucene"\n', "search_engine"),
    ("page_size = 0\n", "page_size"),
    ("threads = 1000\n", "threads"),
    ("search_time_budget_ms = -5\n", "search_time_budget_ms"),
])
def test_values_outside_what_is_allowed_are_refused_naming_setting_value_and_allowed(tmp_path, text, name):
    (tmp_path / "readpoint.toml").write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path, environ={})
    message = str(caught.value)
    assert "\n" not in message and name in message and "readpoint.toml" in message
    value = text.split("=", 1)[1].strip().strip('"')
    assert value in message
    assert "allowed" in message


def test_environment_values_are_checked_too(tmp_path):
    with pytest.raises(SettingsError, match="READPOINT_DEFAULT_LOCALE: default_locale = 'de'.*vi, th, en"):
        load_settings(tmp_path, environ={"READPOINT_DEFAULT_LOCALE": "de"})
    assert load_settings(tmp_path, environ={"READPOINT_DEFAULT_LOCALE": "th"})["default_locale"] == "th"


def test_every_setting_with_choices_or_bounds_accepts_its_default():
    for setting in SETTINGS:
        setting.check(setting.default, "default")
