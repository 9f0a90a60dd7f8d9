"""CSV export of the ledger and of generations, streamed.

Rows are read with ``iterator(chunk_size=…)`` (a server-side cursor on PostgreSQL, chunked
fetches on SQLite) and written one line at a time into the response, so a million rows
never sit in memory. The admin lists call these with the queryset they show; the
benchmark calls them directly.

Values a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are prefixed with a quote. The file starts with a UTF-8 byte
order mark, so spreadsheet programs read Vietnamese names and prompts right.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

CHUNK_SIZE = 2000
BYTE_ORDER_MARK = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Row = list[Any]

LEDGER_COLUMNS = {
    "id": "id",
    "time": "created_at",
    "team_id": "team_id",
    "team": "team__name",
    "member": "user__username",
    "generation": "generation_id",
    "rivya_task_id": "rivya_task_id",
    "kind": "kind",
    "amount": "amount",
    "note": "note",
    "made_by": "made_by__username",
}
GENERATION_COLUMNS = {
    "generation": "id",
    "time": "created_at",
    "team_id": "team_id",
    "team": "team__name",
    "member": "created_by__username",
    "rivya_task_id": "rivya_task_id",
    "status": "status",
    "reserved_credits": "reserved_credits",
    "final_credits": "final_credits",
    "finished": "finished_at",
    "error_code": "error_code",
    "prompt": "prompt",
}


class _Echo:
    """A file-like object that hands back what is written, for ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> Any:
    """One value as the CSV shows it: times in ISO 8601 UTC, empty for None, text that
    a spreadsheet would evaluate made inert."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _rows(queryset: QuerySet[Any], columns: dict[str, str]) -> Iterator[Row]:
    yield list(columns)
    values = queryset.values_list(*columns.values()).iterator(chunk_size=CHUNK_SIZE)
    for values_row in values:
        yield [cell(value) for value in values_row]


def ledger_rows(queryset: QuerySet[Any]) -> Iterator[Row]:
    """A header, then one row per credit entry of ``queryset``, in its order."""
    return _rows(queryset, LEDGER_COLUMNS)


def generation_rows(queryset: QuerySet[Any]) -> Iterator[Row]:
    """A header, then one row per generation of ``queryset``, in its order."""
    return _rows(queryset, GENERATION_COLUMNS)


def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    """Each row as one line of CSV text, after the byte order mark."""
    writer = csv.writer(_Echo())
    yield BYTE_ORDER_MARK
    for row in rows:
        yield writer.writerow(row)


def csv_response(rows: Iterable[Row], filename: str) -> StreamingHttpResponse:
    """A download of ``rows`` as ``filename``, written while it is sent."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
