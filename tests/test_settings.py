"""Settings from the environment: the readers, the documentation, and start-up refusals."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from rivyaweb.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def settings_variables() -> set[str]:
    """Every NAME read by an ``env_*("NAME", …)`` call in rivyaweb/settings.py."""
    tree = ast.parse((BASE_DIR / "rivyaweb" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def test_settings_read_the_variables_this_test_expects():
    # Guards the parser above: if it found nothing, the two tests below would pass vacuously.
    assert {"SECRET_KEY", "DATABASE_URL", "RIVYA_API_KEY", "RIVYA_API_BASE"} <= settings_variables()


def test_every_variable_is_in_env_example():
    text = (BASE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    assert sorted(settings_variables() - listed) == []


def test_every_variable_is_in_the_readme_configuration_table():
    text = (BASE_DIR / "README.md").read_text()
    listed = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", text, flags=re.MULTILINE))
    assert sorted(settings_variables() - listed) == []


def test_every_variable_is_in_docs_configuration():
    text = (BASE_DIR / "docs" / "configuration.md").read_text()
    listed = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", text, flags=re.MULTILINE))
    assert sorted(settings_variables() - listed) == []


# --- the readers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), (" Yes ", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG")


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_unset_or_empty_values_keep_the_default(monkeypatch, raw):
    for name in ("FLAG", "COUNT", "RATIO", "NAMES", "WORD"):
        if raw is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, raw)
    assert env_bool("FLAG", True) is True
    assert env_int("COUNT", 7) == 7
    assert env_float("RATIO", 0.5) == 0.5
    assert env_list("NAMES", ["a"]) == ["a"]
    assert env_str("WORD", "default") == "default"


def test_env_int_and_float_read_numbers(monkeypatch):
    monkeypatch.setenv("COUNT", " 42 ")
    monkeypatch.setenv("RATIO", "0.25")
    assert env_int("COUNT", 0) == 42
    assert env_float("RATIO", 0.0) == 0.25


@pytest.mark.parametrize(("reader", "raw"), [(env_int, "4.5"), (env_int, "ten"), (env_float, "x")])
def test_bad_numbers_are_refused(monkeypatch, reader, raw):
    monkeypatch.setenv("NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="NUMBER must be"):
        reader("NUMBER", 0)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("NAMES", " a.example, ,b.example ,")
    assert env_list("NAMES") == ["a.example", "b.example"]


def test_env_secret_reads_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("rvya_sk_from_a_file\n")
    monkeypatch.setenv("RIVYA_API_KEY", "rvya_sk_from_the_environment")
    monkeypatch.setenv("RIVYA_API_KEY_FILE", str(secret))
    assert env_secret("RIVYA_API_KEY") == "rvya_sk_from_a_file"


def test_env_secret_without_a_file_reads_the_variable(monkeypatch):
    monkeypatch.delenv("RIVYA_API_KEY_FILE", raising=False)
    monkeypatch.setenv("RIVYA_API_KEY", " rvya_sk_plain ")
    assert env_secret("RIVYA_API_KEY") == "rvya_sk_plain"


def test_env_secret_with_a_missing_file_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("RIVYA_API_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(ImproperlyConfigured, match="RIVYA_API_KEY_FILE cannot be read"):
        env_secret("RIVYA_API_KEY")


# --- DATABASE_URL -----------------------------------------------------------------


def test_postgres_url_becomes_a_postgresql_database():
    db = parse_database_url(
        "postgres://app:p%40ss@db.internal:6543/rivya?sslmode=require", Path("/srv")
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("rivya", "app", "p@ss")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "6543")
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_postgres_url_needs_a_database_name():
    with pytest.raises(ImproperlyConfigured, match="must name a database"):
        parse_database_url("postgresql://app@db.internal/", Path("/srv"))


def test_relative_sqlite_path_is_under_the_project():
    db = parse_database_url("sqlite:///var/db.sqlite3", Path("/srv/app"))
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == Path("/srv/app/var/db.sqlite3")


def test_absolute_sqlite_path_is_kept():
    db = parse_database_url("sqlite:////data/rivya.sqlite3", Path("/srv/app"))
    assert db["NAME"] == Path("/data/rivya.sqlite3")


@pytest.mark.parametrize("url", ["mysql://app@db/rivya", "db.sqlite3", "redis://localhost/0"])
def test_unsupported_database_schemes_are_refused(url):
    with pytest.raises(ImproperlyConfigured, match="is not supported"):
        parse_database_url(url, Path("/srv"))


def test_sqlite_url_needs_a_file_name():
    with pytest.raises(ImproperlyConfigured, match="needs a file name"):
        parse_database_url("sqlite:///", Path("/srv"))


# --- start-up refusals --------------------------------------------------------------


def start_django(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "SECRET_KEY_FILE"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "rivyaweb.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_public_hosts_without_a_secret_key_refuse_to_start():
    result = start_django(ALLOWED_HOSTS="video.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_public_hosts_with_a_secret_key_start():
    result = start_django(ALLOWED_HOSTS="video.example.com", SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr


def test_a_short_secret_key_is_refused():
    result = start_django(ALLOWED_HOSTS="video.example.com", SECRET_KEY="short")
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_a_bad_boolean_refuses_to_start():
    result = start_django(DEBUG="sometimes")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_lines_copied_empty_from_env_example_keep_the_defaults():
    empty = dict.fromkeys(sorted(settings_variables()), "")
    result = start_django(**empty)
    assert result.returncode == 0, result.stderr
