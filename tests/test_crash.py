"""The worker and the poller die at random moments: still one Rivya task and one ready video.

Everything runs as real processes on one SQLite file in a temporary directory: the web
server (which also serves the sandbox), ``db_worker`` and ``rivya_poller``, plus a second
``db_worker`` for the sandbox's own queue. That one stands in for Rivya's renderers and is
never killed: a render it had claimed would wait out the sandbox's render lease, a delay
real Rivya does not have when our worker dies.

The sandbox drops the first answers to the create, so the worker has to ask again, while
the test SIGKILLs the worker or the poller at random moments and restarts it. A real lease
lasts minutes; rather than wait for one, the test moves the database's deadlines (leases,
delayed retries, next reads) into the past after each kill, which is all that waiting
would have changed.

The kills come from a seeded random generator; the seed is printed and shown on failure,
and ``CRASH_TEST_SEED=<seed>`` makes the same choices again (timings still vary).
"""

import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from django_tasks_db.models import DBTaskResult

from credits.models import CreditEntry
from generations.models import ENQUEUED, Generation
from sandbox.models import Account
from sandbox.models import Generation as SandboxTask

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]

LOST_ANSWERS = 3  # answers to POST /generations the sandbox drops for our key
BALANCE = 10_000  # the sandbox's built-in account starts with this (SANDBOX_DEFAULT_BALANCE)
PRICE = 55  # what the sandbox charges for a kling-2-6 video
MAX_KILLS = 10
CHAOS_SECONDS = 30.0
FINISH_SECONDS = 40.0
START_TIMEOUT = 30.0
SAMPLE_EVERY = 0.05
NEVER_SEEN = {"failed", "rejected", "attention"}
# A moment long past, in the form Django stores times in SQLite (UTC).
PAST = "2000-01-01 00:00:00"

# Settings a developer's shell may carry that would point the children elsewhere (a real
# Rivya account, a bucket, a shared Redis budget, debug reloading…); also read as NAME_FILE.
FOREIGN_SETTINGS = (
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_COOKIES",
    "DATABASE_URL",
    "REDIS_URL",
    "MEDIA_ROOT",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_REGION_NAME",
    "PYTHONPATH",
)
FOREIGN_PREFIXES = ("RIVYA_", "SANDBOX_")

# Where the sandbox keeps its files and where collectstatic writes are settings, not
# environment variables; a settings module of the run's own keeps both out of the checkout.
SETTINGS_OVERLAY = """\
from pathlib import Path

from rivyaweb.settings import *  # noqa: F403

SANDBOX_DATA_DIR = Path({sandbox!r})
STATIC_ROOT = Path({static!r})
"""

# Run once in the run's database: a creator, their team, the sandbox's knobs, and a video
# created the way the form does it (a pending row whose submit task is queued).
SETUP = f"""
import json
from django.contrib.auth import get_user_model
from generations.accounts import ensure_personal_team
from generations.actions import create_generation
from sandbox.models import SandboxConfig

SandboxConfig.load()
SandboxConfig.objects.filter(pk=1).update(
    lose_first_answers={LOST_ANSWERS},
    # A slow create keeps a request in flight longer, so more kills land mid-request.
    create_delay_seconds=0.3,
    # Every answer a little late, so each request is in flight long enough to be killed in.
    slow_seconds=0.2,
    queued_seconds=0.5,
    processing_seconds=0.5,
)
creator = get_user_model().objects.create_user("creator", "creator@example.com")
generation, _created = create_generation(
    team=ensure_personal_team(creator),
    user=creator,
    data={{
        "prompt": "A paper boat drifting down a rainy street",
        "duration": 5,
        "sound": False,
        "aspect_ratio": "1:1",
    }},
    reference=None,
)
print(json.dumps({{"id": str(generation.pk)}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: the web server's granian processes, say."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may contain spaces; the parent's pid follows the last ")".
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def child_environment(tmp: Path, port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(FOREIGN_PREFIXES)
        and name not in FOREIGN_SETTINGS
        and name.removesuffix("_FILE") not in FOREIGN_SETTINGS
    }
    scratch = tmp / "tmp"
    scratch.mkdir()
    overlay = tmp / "settings"
    overlay.mkdir()
    (overlay / "crash_settings.py").write_text(
        SETTINGS_OVERLAY.format(sandbox=str(tmp / "sandbox"), static=str(tmp / "static"))
    )
    env.update(
        DJANGO_SETTINGS_MODULE="crash_settings",
        PYTHONPATH=str(overlay),
        SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp / "media"),
        # A copy killed mid-download leaves its temporary file behind: keep it in here.
        TMPDIR=str(scratch),
        RIVYA_API_BASE=f"http://127.0.0.1:{port}/sandbox/api/v1",
        PYTHONUNBUFFERED="1",
    )
    return env


class Processes:
    """The processes of the run by name, each logging to its own file (appended across
    restarts), all killed at the end whatever happened."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.argv: dict[str, list[str]] = {}
        self.markers: dict[str, bytes] = {}
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.log_offsets: dict[str, int] = {}

    def start(self, name: str, argv: list[str] | None = None, marker: str = "") -> None:
        """Start ``name``; ``marker`` is the log line that says it is at work."""
        if argv is not None:
            self.argv[name] = argv
            self.markers[name] = marker.encode()
        with (self.logs / f"{name}.log").open("ab") as log:
            self.log_offsets[name] = log.tell()
            self.running[name] = subprocess.Popen(
                self.argv[name], cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def at_work(self, name: str) -> bool:
        """Whether ``name`` has started working since it was last started."""
        with (self.logs / f"{name}.log").open("rb") as log:
            log.seek(self.log_offsets[name])
            return self.markers[name] in log.read()

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()

    def kill_all(self) -> None:
        for name in list(self.running):
            self.kill(name)

    def check_alive(self) -> None:
        for name, process in self.running.items():
            assert process.poll() is None, f"{name} exited by itself:\n{self.tail(name)}"

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Database:
    """Direct reads and clock moves on the run's SQLite file; the test's own database (the
    one pytest-django manages, maybe PostgreSQL) is never involved."""

    def __init__(self, path: Path, generation_id: str) -> None:
        self.connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        # SQLite keeps UUID primary keys as 32 hex digits.
        self.pk = uuid.UUID(generation_id).hex

    def row(self, *columns: str) -> tuple:
        found = self.connection.execute(
            f"SELECT {', '.join(columns)} FROM {Generation._meta.db_table} WHERE id = ?",  # noqa: S608
            (self.pk,),
        ).fetchone()
        assert found is not None
        return found

    def status(self) -> str:
        return self.row("status")[0]

    def holder(self) -> str:
        """Which process holds the row's lease right now: "worker", "poller" or ""."""
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        owner, until = self.row("lease_owner", "lease_until")
        if owner in ("", ENQUEUED) or until is None or until < now:
            return ""
        return "poller" if owner.startswith("poll:") else "worker"

    def sandbox_tasks(self) -> list[tuple]:
        return self.connection.execute(
            f"SELECT id, status, reserved_credits FROM {SandboxTask._meta.db_table}"  # noqa: S608
        ).fetchall()

    def balance(self) -> int:
        return self.connection.execute(
            f"SELECT balance FROM {Account._meta.db_table} WHERE is_builtin"  # noqa: S608
        ).fetchone()[0]

    def ledger(self) -> list[tuple]:
        return self.connection.execute(
            f"SELECT kind, amount FROM {CreditEntry._meta.db_table} "  # noqa: S608
            "WHERE generation_id = ? ORDER BY id",
            (self.pk,),
        ).fetchall()

    def failed_tasks(self) -> list[tuple]:
        return self.connection.execute(
            f"SELECT task_path, exception_class_path FROM {DBTaskResult._meta.db_table} "  # noqa: S608
            "WHERE status = 'FAILED'"
        ).fetchall()

    def fast_forward(self, *, leases: bool) -> None:
        """Let time pass: delayed retries of our tasks and the next reads are due now, and
        (with ``leases``) every lease has run out, as it would minutes after a kill.

        The sandbox's own delayed tasks keep their times: its timeline is real seconds.
        """
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            table = Generation._meta.db_table
            if leases:
                self.connection.execute(
                    f"UPDATE {table} SET lease_until = ? WHERE lease_until IS NOT NULL",  # noqa: S608
                    (PAST,),
                )
            self.connection.execute(
                f"UPDATE {table} SET next_poll_at = ? WHERE next_poll_at IS NOT NULL",  # noqa: S608
                (PAST,),
            )
            # django-tasks-db marks a task enqueued without a delay with the maximum date.
            self.connection.execute(
                f"UPDATE {DBTaskResult._meta.db_table} SET run_after = ? "  # noqa: S608
                "WHERE status = 'READY' AND task_path LIKE 'generations.%' "
                "AND run_after < '9999'",
                (PAST,),
            )

    def close(self) -> None:
        self.connection.close()


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*MANAGE, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wait_until_healthy(processes: Processes, base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no /healthz within {START_TIMEOUT}s:\n{processes.tail('web')}")


def test_killed_worker_and_poller_still_make_one_task_and_one_ready_video(tmp_path):
    seed = int(os.environ.get("CRASH_TEST_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    print(f"crash test seed: {seed} (replay with CRASH_TEST_SEED={seed})")

    port = free_port()
    env = child_environment(tmp_path, port)
    manage(env, "migrate", "--verbosity", "0")
    generation_id = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])["id"]

    processes = Processes(env, tmp_path)
    database = Database(tmp_path / "db.sqlite3", generation_id)
    seen: list[str] = []
    kills: list[str] = []

    def sample() -> str:
        status = database.status()
        if status not in seen:
            seen.append(status)
        return status

    def settled() -> bool:
        """Nothing more to learn: the row is finished or stuck, or a second task exists."""
        return sample() in {"ready", *NEVER_SEEN} or len(database.sandbox_tasks()) > 1

    try:
        processes.start(
            "web",
            [
                *MANAGE,
                *("serve", "--no-worker", "--no-poller", "--no-migrate"),
                *("--port", str(port), "--workers", "1", "--threads", "4"),
            ],
        )
        wait_until_healthy(processes, f"http://127.0.0.1:{port}")
        worker = [*MANAGE, "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
        processes.start("rivya", [*worker, "--queue-name", "sandbox"])
        processes.start(
            "worker",
            [*worker, "--queue-name", "*", "--exclude-queues", "sandbox"],
            marker="Starting worker",
        )
        processes.start(
            "poller",
            [*MANAGE, "rivya_poller", "--interval", "0.2"],
            marker="Rivya poller started",
        )

        def wait_at_work(*names: str) -> None:
            """A kill during start-up only delays; the next one waits for real work."""
            deadline = time.monotonic() + START_TIMEOUT
            while not all(processes.at_work(name) for name in names) and not settled():
                processes.check_alive()
                assert time.monotonic() < deadline, f"{names} did not start"
                time.sleep(SAMPLE_EVERY)

        wait_at_work("worker", "poller")

        # Chaos: kill one of the two, let the deadlines pass, restart it. Half the kills
        # come at any moment; the others wait for a step in progress (a process holding the
        # row: a create or a read in flight, a copy) and hit its holder a moment later.
        started = time.monotonic()
        while len(kills) < MAX_KILLS and time.monotonic() - started < CHAOS_SECONDS:
            mid_step = rng.random() < 0.5
            until = time.monotonic() + rng.uniform(0.2, 2.5)
            victim = ""
            while time.monotonic() < until and not settled():
                processes.check_alive()
                if mid_step and (victim := database.holder()):
                    time.sleep(rng.uniform(0.0, 0.2))
                    break
                time.sleep(SAMPLE_EVERY)
            if settled():
                break
            moment = "holding the row" if victim else "at any moment"
            victim = victim or rng.choice(("worker", "poller"))
            kills.append(f"{time.monotonic() - started:5.1f}s {victim} {moment}, {seen[-1]}")
            print("killed", kills[-1])
            processes.kill(victim)
            database.fast_forward(leases=True)
            processes.start(victim)
            wait_at_work(victim)

        # Let the survivors finish; retries are not waited for, leases are left alone.
        deadline = time.monotonic() + FINISH_SECONDS
        while not settled() and time.monotonic() < deadline:
            processes.check_alive()
            database.fast_forward(leases=False)
            time.sleep(0.25)
        print("statuses seen:", " → ".join(seen))
        print("failed tasks:", database.failed_tasks())

        tasks = database.sandbox_tasks()
        assert len(tasks) == 1, f"Rivya holds {len(tasks)} tasks for one video: {tasks}"
        assert database.balance() == BALANCE - PRICE, "Rivya charged once"
        status, task_id, video, sha256, create_attempts = database.row(
            "status", "rivya_task_id", "video", "video_sha256", "create_attempts"
        )
        assert not NEVER_SEEN & set(seen), f"statuses seen: {seen}"
        assert status == "ready", f"still {status} after {FINISH_SECONDS}s"
        assert task_id == tasks[0][0]
        # Every lost answer was an attempt of its own: the fault really was in the way.
        assert create_attempts > LOST_ANSWERS
        stored = tmp_path / "media" / video
        assert video and stored.is_file()
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha256
        assert sorted(database.ledger()) == [("reserve", -PRICE), ("settle", 0)]
    except BaseException:
        print(f"seed {seed}; kills: {kills}; statuses seen: {seen}")
        for name in ("web", "rivya", "worker", "poller"):
            print(f"--- {name} log (tail) ---\n{processes.tail(name)}")
        raise
    finally:
        processes.kill_all()
        database.close()
