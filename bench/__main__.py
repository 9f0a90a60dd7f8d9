"""``uv run python -m bench [names…] [--database-url URL] [--repeat N]``.

Sets up a throw-away database (an SQLite file in a temporary directory, or a PostgreSQL
database created here and dropped afterwards), migrates it, collects static files into the
same directory, then runs the named benchmarks (all of them by default).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCHMARKS = ("cards", "home", "poller", "mirror", "gallery", "ledger")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--database-url",
        help="postgres://user@host:port/NAME: a database NAME that does not exist yet; it "
        "is created for the run and dropped after. Default: SQLite in a temporary directory.",
    )
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per measurement")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    with tempfile.TemporaryDirectory(prefix="rivyaweb-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        with throwaway_postgres(args.database_url):
            setup_django(Path(tmp), database_url)
            print_machine(database_url)
            for name in names:
                module = importlib.import_module(f"bench.{name}")
                started = time.perf_counter()
                module.run(repeat=args.repeat, tmp=Path(tmp))
                print(f"({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
            from django.db import connections

            connections.close_all()
    return 0


def setup_django(tmp: Path, database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["DJANGO_SETTINGS_MODULE"] = "rivyaweb.settings"
    # Measure the production configuration, whatever the shell says.
    os.environ["DEBUG"] = "false"

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    # The manifest storage of a deployment, with its own manifest in the temporary dir.
    settings.STATIC_ROOT = tmp / "static"
    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)


@contextmanager
def throwaway_postgres(url: str | None) -> Iterator[None]:
    """Create the database named in ``url`` for the run and drop it afterwards."""
    if url is None:
        yield
        return
    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("--database-url must be a postgres:// URL")
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit("the database name may only contain letters, digits and _")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            raise SystemExit(f"database {name!r} exists already; name one the run may drop")
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def print_machine(database_url: str) -> None:
    import django
    from django.db import connection

    cpu = "unknown"
    with Path("/proc/cpuinfo").open() as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version"
        )
        db_version = cursor.fetchone()[0]
    print(f"date      {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine   {nproc.strip()} cores, {cpu}, load average {load}")
    print(f"python    {platform.python_version()}, Django {django.get_version()}")
    print(f"database  {connection.vendor} {db_version} ({urlsplit(database_url).scheme})")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
