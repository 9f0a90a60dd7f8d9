"""``manage.py serve`` as a user runs it: a real process tree on a free port."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.utils import translation

from rivyaweb.management.commands.serve import Command, child_environment, local_url

BASE_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60
STOP_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (children, grandchildren…) with its command line."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in field 2 may contain spaces; ppid follows the last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: dict[int, str] = {}
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            try:
                found[child] = (
                    Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                ).decode()
            except OSError:
                continue
            queue.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One database for the module: the first run migrates it, the others find it ready."""
    return tmp_path_factory.mktemp("serve")


@pytest.fixture
def server(data_dir, tmp_path):
    """Start ``manage.py serve`` on a free port; yield (process, base URL, log path)."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite3",
        "MEDIA_ROOT": str(data_dir / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("RIVYA_API_KEY", "RIVYA_API_BASE", "DEBUG", "ALLOWED_HOSTS"):
        env.pop(name, None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "1"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base, log)
        yield process, base, log
    finally:
        if process.poll() is None:
            for pid in descendants(process.pid):
                os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def wait_until_healthy(process, base, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"serve did not answer /healthz within {START_TIMEOUT}s:\n{log.read_text()}")


def wait_for_children(process, names):
    """The worker and poller start a moment after the web server answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        tree = descendants(process.pid)
        if all(any(name in cmd for cmd in tree.values()) for name in names):
            return tree
        time.sleep(0.2)
    pytest.fail(f"missing children {names}: {tree}")


def assert_tree_gone(pids):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    assert [pid for pid in pids if alive(pid)] == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_runs_everything_and_stops_cleanly_on_signal(server, signum):
    process, base, log = server

    health = httpx.get(f"{base}/healthz")
    assert health.json() == {"status": "ok", "database": "ok"}
    login = httpx.get(f"{base}/accounts/login/")
    assert login.status_code == 200
    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', login.text)
    assert stylesheet, "the login page links the hashed stylesheet collected by serve"
    css = httpx.get(base + stylesheet.group(1))
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]

    tree = wait_for_children(process, ["granian", "db_worker", "rivya_poller"])
    granian_processes = [pid for pid, cmd in tree.items() if "granian" in cmd]
    assert len(granian_processes) == 2, "granian's main process and its one worker"

    process.send_signal(signum)
    assert process.wait(timeout=STOP_TIMEOUT) == 0, log.read_text()
    assert_tree_gone(list(tree))
    output = log.read_text()
    assert f"{base}/" in output
    assert "createsuperuser" in output
    # The banner is for the operator: English, although the site's default language is Vietnamese.
    assert f"Rivyaweb is running at {base}/" in output
    assert "Press Ctrl-C to stop." in output


def test_serve_stops_everything_when_a_child_dies(server):
    process, _base, log = server
    tree = wait_for_children(process, ["granian", "db_worker", "rivya_poller"])
    poller = next(pid for pid, cmd in tree.items() if "rivya_poller" in cmd)

    os.kill(poller, signal.SIGKILL)

    assert process.wait(timeout=STOP_TIMEOUT) != 0
    assert_tree_gone(list(tree))
    assert "poller exited" in log.read_text()


def test_sandbox_address_follows_the_served_port(settings, monkeypatch):
    settings.RIVYA_SANDBOX = True
    monkeypatch.delenv("RIVYA_API_BASE", raising=False)

    env = child_environment("0.0.0.0", 8123)  # noqa: S104

    assert env["RIVYA_API_BASE"] == "http://127.0.0.1:8123/sandbox/api/v1"


def test_public_hosts_also_allow_the_loopback_address_of_the_sandbox(settings, monkeypatch):
    settings.RIVYA_SANDBOX = True
    monkeypatch.delenv("RIVYA_API_BASE", raising=False)
    monkeypatch.setenv("ALLOWED_HOSTS", "video.example.com")

    env = child_environment("0.0.0.0", 8000)  # noqa: S104

    assert env["ALLOWED_HOSTS"] == "video.example.com,127.0.0.1"


def test_default_hosts_are_left_alone(settings, monkeypatch):
    settings.RIVYA_SANDBOX = True
    monkeypatch.delenv("RIVYA_API_BASE", raising=False)
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)

    assert "ALLOWED_HOSTS" not in child_environment("127.0.0.1", 8000)


def test_an_explicit_api_base_is_left_alone(settings, monkeypatch):
    settings.RIVYA_SANDBOX = True
    monkeypatch.setenv("RIVYA_API_BASE", "http://10.0.0.5:9000/sandbox/api/v1")

    assert child_environment("127.0.0.1", 8000)["RIVYA_API_BASE"] == (
        "http://10.0.0.5:9000/sandbox/api/v1"
    )


def test_a_real_key_gets_no_sandbox_address(settings, monkeypatch):
    settings.RIVYA_SANDBOX = False
    monkeypatch.delenv("RIVYA_API_BASE", raising=False)
    monkeypatch.setenv("ALLOWED_HOSTS", "video.example.com")

    env = child_environment("127.0.0.1", 8000)

    assert "RIVYA_API_BASE" not in env
    assert env["ALLOWED_HOSTS"] == "video.example.com"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://127.0.0.1:8000/"),  # noqa: S104
        ("::", "http://[::1]:8000/"),
        ("example.internal", "http://example.internal:8000/"),
    ],
)
def test_local_url_names_an_address_a_browser_can_open(host, url):
    assert local_url(host, 8000) == url


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_banner_is_in_english_whatever_the_active_language(settings, language):
    settings.RIVYA_SANDBOX = True
    out = StringIO()
    with translation.override(language):
        Command(stdout=out).print_banner("0.0.0.0", 8123)  # noqa: S104
    banner = out.getvalue()
    assert "Rivyaweb is running at http://127.0.0.1:8123/" in banner
    assert "Admin: http://127.0.0.1:8123/admin/" in banner
    assert "using the built-in Rivya sandbox" in banner
    assert "Press Ctrl-C to stop." in banner
