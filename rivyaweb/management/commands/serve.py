"""Set up and run the whole app as one process tree: web server, task worker, Rivya poller.

``manage.py serve`` applies migrations, collects static files, then starts three
children and watches them:

* web: granian serving ``rivyaweb.wsgi`` (whitenoise serves the static files),
* worker: ``manage.py db_worker`` for every task queue,
* poller: ``manage.py rivya_poller``.

Each child leads its own process group, so Ctrl-C in a terminal reaches only this
process; it then sends SIGTERM to each child, waits, and kills whatever is left,
granian's own worker processes included. When a child exits on its own, the others
are stopped and the command exits non-zero, so a supervisor (Docker, systemd) can
restart the whole tree.

Everything it prints is for the operator and is in English, whatever LANGUAGE_CODE says
(like the README and the logs); the site itself still follows each visitor's language.
"""

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, no_translations
from django.db import connections
from django.urls import reverse

logger = logging.getLogger("rivyaweb.serve")

STOP_TIMEOUT = 10.0  # seconds a child gets between SIGTERM and SIGKILL
WATCH_INTERVAL = 0.2
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ArgumentTypeError("must be between 1 and 65535")
    return port


def worker_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a whole number") from None
    if count < 1:
        raise ArgumentTypeError("must be at least 1")
    return count


def default_threads() -> int:
    # granian's own ceiling for WSGI threads before it warns about oversubscription.
    return (os.cpu_count() or 1) * 2 + 1


def local_url(host: str, port: int, path: str = "/") -> str:
    """The URL a browser on this machine uses to reach a server bound to ``host``."""
    host = WILDCARD_HOSTS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def child_environment(host: str, port: int) -> dict[str, str]:
    """The children's environment: ours, plus the sandbox address when no key is set."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    if settings.RIVYA_SANDBOX and not env.get("RIVYA_API_BASE", "").strip():
        # No Rivya key: the app talks to the sandbox mounted on this very server,
        # over loopback, so that address must pass the host check too.
        env["RIVYA_API_BASE"] = local_url(host, port, "/sandbox/api/v1")
        loopback = WILDCARD_HOSTS.get(host, host)
        loopback = f"[{loopback}]" if ":" in loopback else loopback
        allowed = [name.strip() for name in env.get("ALLOWED_HOSTS", "").split(",") if name.strip()]
        if allowed and "*" not in allowed and loopback not in allowed:
            env["ALLOWED_HOSTS"] = ",".join([*allowed, loopback])
    return env


def die_with_parent(parent_pid: int) -> None:
    """Run in the child before exec: get SIGTERM if the serve process itself dies.

    This covers the case no signal handler can: the parent killed with SIGKILL.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: "subprocess.Popen[bytes] | None" = field(default=None, repr=False)

    def start(self, env: dict[str, str], cwd: Path) -> None:
        parent_pid = os.getpid()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv built from our own paths
            self.argv,
            env=env,
            cwd=cwd,
            process_group=0,
            preexec_fn=lambda: die_with_parent(parent_pid),
        )

    def exit_code(self) -> int | None:
        assert self.process is not None
        return self.process.poll()

    def terminate(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> int:
        """Wait until ``deadline``; then SIGKILL the child's whole process group."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within %.0fs; killing it.", self.name, STOP_TIMEOUT)
            self.kill_group()
            code = self.process.wait()
        # Anything the child started and left behind (a stuck granian worker) goes too.
        self.kill_group()
        return code

    def kill_group(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


class Supervisor:
    """Start children, watch them, and stop them all on a signal or on the first exit."""

    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stop_requested = threading.Event()
        self.stop_signal: int | None = None

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        self.stop_requested.set()

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.handle_signal)

    def run(
        self, env: dict[str, str], cwd: Path, on_started: Callable[[], None] | None = None
    ) -> int:
        """Return 0 after a requested stop, 1 when a child exited by itself."""
        failed: Child | None = None
        try:
            for child in self.children:
                if self.stop_requested.is_set():
                    break
                child.start(env, cwd)
            if on_started is not None and not self.stop_requested.is_set():
                on_started()
            failed = self.watch()
        finally:
            self.stop_all()
        return 1 if failed is not None else 0

    def watch(self) -> Child | None:
        while not self.stop_requested.wait(WATCH_INTERVAL):
            for child in self.children:
                code = child.exit_code()
                if code is not None:
                    logger.error("%s exited with code %s; stopping the others.", child.name, code)
                    return child
        assert self.stop_signal is not None
        logger.info("Received %s; stopping.", signal.strsignal(self.stop_signal))
        return None

    def stop_all(self) -> None:
        started = [child for child in self.children if child.process is not None]
        for child in started:
            child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in started:
            code = child.wait_or_kill(deadline)
            logger.info("%s stopped (exit code %s).", child.name, code)


class Command(BaseCommand):
    help = (
        "Apply migrations, collect static files, then run the web server, the task "
        "worker and the Rivya poller until Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind to.")
        parser.add_argument("--port", type=port_number, default=8000, help="Port to bind to.")
        parser.add_argument(
            "--workers", type=worker_count, default=2, help="Web server processes (default: 2)."
        )
        parser.add_argument(
            "--threads",
            type=worker_count,
            default=default_threads(),
            help="Request threads per web server process (default: 2 x CPUs + 1).",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the task worker."
        )
        parser.add_argument(
            "--no-poller", action="store_true", help="Do not start the Rivya poller."
        )
        parser.add_argument(
            "--no-migrate",
            action="store_true",
            help="Skip migrations (when a release step applies them once for many replicas).",
        )

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
        call_command("collectstatic", interactive=False, verbosity=0)
        # The children open their own connections; do not hold SQLite locks meanwhile.
        connections.close_all()

        supervisor = Supervisor(self.children(options))
        supervisor.install_signal_handlers()
        code = supervisor.run(
            child_environment(host, port),
            cwd=settings.BASE_DIR,
            on_started=lambda: self.print_banner(host, port),
        )
        if code:
            raise CommandError("A process stopped unexpectedly; everything was shut down.")

    def children(self, options: dict[str, Any]) -> list[Child]:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = [
            Child(
                "web",
                [
                    str(Path(sys.executable).parent / "granian"),
                    "--interface",
                    "wsgi",
                    "rivyaweb.wsgi:application",
                    "--host",
                    options["host"],
                    "--port",
                    str(options["port"]),
                    "--workers",
                    str(options["workers"]),
                    "--blocking-threads",
                    str(options["threads"]),
                    "--no-ws",
                    "--respawn-failed-workers",
                    "--workers-kill-timeout",
                    str(int(STOP_TIMEOUT) - 2),
                    "--working-dir",
                    str(settings.BASE_DIR),
                ],
            )
        ]
        if not options["no_worker"]:
            children.append(
                Child(
                    "worker",
                    [*manage, "db_worker", "--no-reload", "--interval", "1", "--queue-name", "*"],
                )
            )
        if not options["no_poller"]:
            children.append(Child("poller", [*manage, "rivya_poller"]))
        return children

    def print_banner(self, host: str, port: int) -> None:
        lines = [
            "",
            f"Rivyaweb is running at {local_url(host, port)}",
            f"Admin: {local_url(host, port, '/admin/')}",
        ]
        if settings.RIVYA_SANDBOX:
            lines.append(
                "No RIVYA_API_KEY set: using the built-in Rivya sandbox, controls at "
                + local_url(host, port, reverse("sandbox:control"))
            )
        lines += [
            "To create a login, run: uv run manage.py createsuperuser",
            "Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
