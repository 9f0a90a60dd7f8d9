"""``ledger``: the credit dashboard and the CSV export of the ledger, at 100,000 and at
1,000,000 entries.

Each size is built from an empty database: 20 teams of 10 members (half the teams with a
budget, a member in each with a cap), generations bulk-inserted, then their ledger entries
written by the database itself in two ``INSERT … SELECT`` statements (a ``reserve`` for
every generation; a ``settle`` for the nine in ten that were made, a ``refund`` for the
tenth that failed), plus 100 staff adjustments. Every entry falls in one month, the month
measured, so the dashboard reads all of them: the worst case for it.

Subjects:

* ``credits.audit.dashboard(month)``: spend per team, member and day, top spenders,
  counts, budget use. Baseline: one ``SUM(amount)`` over the same month's entries, the
  floor of reading them once.
* the ledger's CSV export as the admin streams it: ``csv_response(ledger_rows(
  CreditEntry.objects.all()), …)`` consumed to the last byte. Baseline: the same rows read
  with ``values_list(…).iterator(chunk_size=2000)``, no CSV.

Peak Python memory of the export is taken in a separate, untimed pass under
``tracemalloc``; its ratio between the two sizes says whether it stays flat as rows grow.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Sum

from bench import Result, data, measure, ms, pct, table, times
from credits import audit, export
from credits.models import CreditEntry
from credits.usage import month_bounds, month_of
from generations.models import Generation, Status
from teams.models import Membership

SIZES = (100_000, 1_000_000)
TEAMS = 20
MEMBERS = 10
ADJUSTMENTS = 100
FAILED_EVERY = 10  # one generation in ten fails and is refunded
PRICES = (55, 70, 110)
CHUNK = 5_000
MIB = 1024 * 1024


def run(*, repeat: int, tmp: Path) -> None:
    # A round at a million rows takes seconds: fewer rounds, and one warm-up call.
    repeat = min(repeat, 3)
    month = previous_month()
    print(
        f"ledger: credit dashboard and CSV export, all entries in {month:%Y-%m}, "
        f"{TEAMS} teams × {MEMBERS} members; median of {repeat} rounds"
    )
    rows: list[list[object]] = []
    peaks: dict[int, int] = {}
    for size in SIZES:
        started = time.perf_counter()
        build(size, month)
        print(f"  built {size:,} entries in {time.perf_counter() - started:.1f} s", flush=True)
        cases = {
            "one SUM over the month": lambda: month_sum(month),
            "dashboard": lambda: audit.dashboard(month),
            "read rows (values_list)": read_rows,
            "CSV export (streamed)": export_csv,
        }
        check(size, month)
        results = measure(cases, repeat=repeat, block=0.0, warmup=1)
        peaks[size] = peak_memory(export_csv)
        rows += size_rows(size, cases, results, peaks[size])
    header = ["entries", "measured", "rows/s", "per call", "spread", "× baseline", "queries",
              "peak memory"]  # fmt: skip
    print(table(header, rows), flush=True)
    small, large = (peaks[size] for size in SIZES)
    print(
        f"export peak memory at {SIZES[1]:,} / at {SIZES[0]:,} entries: "
        f"{large / small:.2f}× (flat ≈ 1.00×; the rows grew {SIZES[1] // SIZES[0]}×)"
    )


def size_rows(
    size: int, cases: dict[str, Callable[[], Any]], results: dict[str, Result], peak: int
) -> list[list[object]]:
    """Table rows of one size: each subject against its baseline in the same run."""
    baselines = {
        "one SUM over the month": "one SUM over the month",
        "dashboard": "one SUM over the month",
        "read rows (values_list)": "read rows (values_list)",
        "CSV export (streamed)": "read rows (values_list)",
    }
    rows = []
    for name, result in results.items():
        rows.append(
            [
                f"{size:,}",
                name,
                f"{size / result.median:,.0f}",
                ms(result.median),
                pct(result.spread),
                times(result.ratio(results[baselines[name]])),
                data.count_queries(cases[name]),
                f"{peak / MIB:.2f} MiB" if name.startswith("CSV") else "",
            ]
        )
    return rows


# --- the measured calls ----------------------------------------------------------------------


def month_sum(month: date) -> int:
    start, end = month_bounds(month)
    entries = CreditEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    return int(entries.aggregate(total=Sum("amount"))["total"] or 0)


def read_rows() -> int:
    values = CreditEntry.objects.values_list(*export.LEDGER_COLUMNS.values())
    count = 0
    for _row in values.iterator(chunk_size=export.CHUNK_SIZE):
        count += 1
    return count


def export_csv() -> int:
    """The admin's download, consumed to the end; returns its size in bytes."""
    response = export.csv_response(export.ledger_rows(CreditEntry.objects.all()), "ledger.csv")
    return sum(len(chunk) for chunk in response)


def peak_memory(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check(size: int, month: date) -> None:
    """Each subject gives the right answer before it is timed."""
    assert CreditEntry.objects.count() == size
    board = audit.dashboard(month)
    adjusted = (ADJUSTMENTS // 2) * (500 - 5)
    assert board.totals.adjusted == adjusted
    assert board.totals.tally.spent == charged((size - ADJUSTMENTS) // 2), board.totals
    assert board.totals.tally.spent == adjusted - month_sum(month)
    assert sum(team.tally.spent for team in board.teams) == board.totals.tally.spent
    assert sum(day.spent for day in board.days) == board.totals.tally.spent
    assert len(board.teams) == TEAMS and len(board.members) == TEAMS * MEMBERS
    assert read_rows() == size
    lines = export_csv()
    assert lines > size * 50, lines  # a header and a line of at least 50 bytes per entry


def charged(generations: int) -> int:
    """What Rivya kept for ``generations`` built by :func:`add_generations`."""
    return sum(PRICES[i % len(PRICES)] for i in range(generations) if i % FAILED_EVERY != 0)


# --- the data --------------------------------------------------------------------------------


def previous_month() -> date:
    """The last whole month: a typical audit."""
    start, _end = month_bounds(month_of())
    return month_of(start - timedelta(days=1))


def build(size: int, month: date) -> None:
    data.empty_database()
    people = [data.user_with_team(f"bench{i}") for i in range(TEAMS)]
    members = []
    for i, (owner, team) in enumerate(people):
        team_members = [owner]
        for j in range(1, MEMBERS):
            user = type(owner).objects.create_user(f"bench{i}m{j}", f"bench{i}m{j}@example.com")
            Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
            team_members.append(user)
        if i % 2 == 0:
            team.monthly_credit_budget = 10_000_000
            team.save(update_fields=["monthly_credit_budget"])
            Membership.objects.filter(team=team, user=team_members[1]).update(
                monthly_credit_cap=1_000_000
            )
        members += [(team, user) for user in team_members]
    generations = (size - ADJUSTMENTS) // 2
    add_generations(members, generations, month)
    write_entries()
    add_adjustments(people[0][0], month)
    if not data.is_sqlite():
        data.analyze()  # autovacuum's job in a deployment


def add_generations(members: list[tuple[Any, Any]], count: int, month: date) -> None:
    """``count`` generations spread evenly over ``month``, made by the database.

    One row is made through the ORM as a template (every column a real row has); the
    database copies it ``count`` times from a number series (SQLite: a recursive CTE;
    PostgreSQL: ``generate_series``), varying what a ledger reads: id, team, member,
    status, task id, price, times. Generation ``i`` belongs to ``members[i % len]``, costs
    ``PRICES[i % 3]`` and failed when ``i % FAILED_EVERY == 0``. The template goes after.
    """
    team, user = members[0]
    template = Generation.objects.create(team=team, created_by=user, prompt=data.PROMPT)
    start, end = month_bounds(month)
    step = int((end - start - timedelta(hours=1)).total_seconds()) // count
    sqlite = data.is_sqlite()
    series = (
        "WITH RECURSIVE series(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM series "
        "WHERE i + 1 < %s), "
        if sqlite
        else "WITH series(i) AS (SELECT generate_series(0, %s - 1)), "
    )
    people = ", ".join(f"({n}, {int(t.pk)}, {int(u.pk)})" for n, (t, u) in enumerate(members))
    # "%%" is a literal "%" (modulo) in SQL that also carries parameters.
    price = f"(CASE s.i %% 3 WHEN 0 THEN {PRICES[0]} WHEN 1 THEN {PRICES[1]} ELSE {PRICES[2]} END)"
    failed = f"s.i %% {FAILED_EVERY} = 0"
    if sqlite:
        moment = "datetime(%s, '+' || (s.i * {step} + {extra}) || ' seconds')"
        at = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    else:
        moment = "(%s::timestamptz + (s.i * {step} + {extra}) * interval '1 second')"
        at = start
    varying = {
        "id": "lower(hex(randomblob(16)))" if sqlite else "gen_random_uuid()",
        "idempotency_key": "'bench-' || s.i",
        "team_id": "p.team_id",
        "created_by_id": "p.user_id",
        "status": f"CASE WHEN {failed} THEN 'failed' ELSE 'ready' END",
        "rivya_status": f"CASE WHEN {failed} THEN 'failed' ELSE 'succeeded' END",
        "rivya_task_id": "'task_' || s.i",
        "reserved_credits": price,
        "final_credits": f"CASE WHEN {failed} THEN 0 ELSE {price} END",
        "created_at": moment.format(step=step, extra=0),
        "changed_at": moment.format(step=step, extra=120),
        "finished_at": moment.format(step=step, extra=120),
    }
    quote = connection.ops.quote_name
    columns = [field.column for field in Generation._meta.concrete_fields]
    values = [varying.get(column, f"t.{quote(column)}") for column in columns]
    params = [count] + [at] * sum(value.count("%s") for value in values)
    sql = (
        f"INSERT INTO {quote(Generation._meta.db_table)} ({', '.join(map(quote, columns))}) "  # noqa: S608
        f"{series}people(n, team_id, user_id) AS (VALUES {people}) "
        f"SELECT {', '.join(values)} FROM series s "
        f"JOIN people p ON p.n = s.i %% {len(members)} "
        f"CROSS JOIN {quote(Generation._meta.db_table)} t WHERE t.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, template.pk.hex if sqlite else template.pk])
    Generation.objects.filter(pk=template.pk).delete()


def write_entries() -> None:
    """The lifecycle's entries of every generation, written by the database in two
    statements: a reserve of the price; then a settle of what was not charged (nothing,
    here) for a made video, or a refund of the whole price for a failed one."""
    entries = CreditEntry._meta.db_table
    generations = Generation._meta.db_table
    columns = "team_id, user_id, generation_id, kind, amount, rivya_task_id, note, created_at"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {entries} ({columns}) "  # noqa: S608 - table names from the models
            f"SELECT team_id, created_by_id, id, 'reserve', -reserved_credits, rivya_task_id, "
            f"'', created_at FROM {generations}"
        )
        cursor.execute(
            f"INSERT INTO {entries} ({columns}) "  # noqa: S608 - table names from the models
            f"SELECT team_id, created_by_id, id, "
            f"CASE WHEN status = %s THEN 'refund' ELSE 'settle' END, "
            f"reserved_credits - final_credits, rivya_task_id, "
            f"'final ' || final_credits, finished_at FROM {generations}",
            [Status.FAILED],
        )


def add_adjustments(staff: Any, month: date) -> None:
    """Staff adjustments of the whole account, dated in ``month`` (an insert that sets its
    own time: the model's ``auto_now_add`` would date them today)."""
    start, _end = month_bounds(month)
    rows = [
        (
            "adjustment",
            500 if i % 2 else -5,
            "Top-up bought in Rivya" if i % 2 else "Rounding at Rivya",
            staff.pk,
            start + timedelta(hours=7 * i + 1),
        )
        for i in range(ADJUSTMENTS)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {CreditEntry._meta.db_table} "  # noqa: S608 - the model's table
            "(kind, amount, note, made_by_id, created_at, rivya_task_id) "
            "VALUES (%s, %s, %s, %s, %s, '')",
            rows,
        )
