"""The ``rivya_poller`` command: its loop, its signals, its resilience."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from generations import forms, poller, tasks
from tests.fixtures import image_bytes

BASE_DIR = Path(__file__).resolve().parent.parent

# Rounds open and close database connections, so in-process tests need the database.
in_process = pytest.mark.django_db


def stop_on_call(number, calls, result=0):
    """A ``poll_due`` that sends this process SIGTERM on its ``number``-th call."""

    def poll_due(*, limit):
        calls.append(limit)
        if len(calls) == number:
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    return poll_due


@in_process
def test_once_runs_one_round_and_reports_it(capsys):
    call_command("rivya_poller", "--once")
    assert "Handled 0 generation(s)." in capsys.readouterr().out


@in_process
def test_a_failed_round_is_logged_and_the_loop_goes_on(monkeypatch, caplog):
    calls = []
    stop_second = stop_on_call(2, calls)

    def poll_due(*, limit):
        if not calls:
            calls.append(limit)
            raise OperationalError("database is restarting")
        return stop_second(limit=limit)

    monkeypatch.setattr(poller, "poll_due", poll_due)
    call_command("rivya_poller", "--interval", "0.01", "--batch-size", "7")

    assert calls == [7, 7]
    assert "Rivya poll round failed." in caplog.text


@in_process
def test_a_full_batch_starts_the_next_round_without_waiting(monkeypatch):
    calls = []
    monkeypatch.setattr(poller, "poll_due", stop_on_call(3, calls, result=5))
    started = time.monotonic()

    call_command("rivya_poller", "--interval", "60", "--batch-size", "5")

    assert len(calls) == 3
    assert time.monotonic() - started < 10


@in_process
def test_the_loop_restores_the_signal_handlers_it_replaced(monkeypatch):
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(poller, "poll_due", stop_on_call(1, []))
    call_command("rivya_poller", "--interval", "0.01")
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.django_db(transaction=True)  # the loop closes connections between rounds
def test_housekeeping_runs_at_start_and_clears_expired_images_and_old_results(
    monkeypatch, owner, media_root
):
    reference = forms.decode_reference(image_bytes(), "kite.png")
    expired = forms.staged_reference_info(forms.stage_reference(reference, owner), owner)["k"]
    fresh = forms.staged_reference_info(forms.stage_reference(reference, owner), owner)["k"]
    long_ago = time.time() - forms.STAGED_MAX_AGE - 60
    os.utime(default_storage.path(expired), (long_ago, long_ago))

    old_result = tasks.mirror.enqueue("00000000-0000-0000-0000-000000000000").id
    new_result = tasks.mirror.enqueue("00000000-0000-0000-0000-000000000001").id
    DBTaskResult.objects.filter(id=old_result).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=15)
    )
    DBTaskResult.objects.filter(id=new_result).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=1)
    )

    monkeypatch.setattr(poller, "poll_due", stop_on_call(1, []))
    call_command("rivya_poller", "--interval", "0.01")

    assert not default_storage.exists(expired)
    assert default_storage.exists(fresh)
    finished = DBTaskResult.objects.filter(task_path="generations.tasks.mirror")
    assert [str(pk) for pk in finished.values_list("id", flat=True)] == [new_result]
    # The catalog is empty, so a refresh is queued for the worker.
    assert DBTaskResult.objects.filter(
        task_path="generations.catalog.refresh_catalog", status="READY"
    ).exists()


@in_process
def test_failed_housekeeping_is_logged_and_polling_goes_on(monkeypatch, caplog):
    def broken(**kwargs):
        raise OSError("the bucket is unreachable")

    calls = []
    monkeypatch.setattr(forms, "prune_staged_references", broken)
    monkeypatch.setattr(poller, "poll_due", stop_on_call(2, calls))
    call_command("rivya_poller", "--interval", "0.01", "--housekeeping-every", "3600")

    assert len(calls) == 2
    assert caplog.text.count("Housekeeping failed") == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_process_stops_cleanly_on_a_signal(tmp_path, signum):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rivya_poller", "--interval", "30"],
        cwd=BASE_DIR,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = ""
        while "Rivya poller started" not in line:
            line = process.stderr.readline()
            assert line, "the poller exited before it started"
        process.send_signal(signum)
        # The loop sleeps 30 s between rounds: a prompt exit shows the signal woke it.
        assert process.wait(timeout=10) == 0
        assert "Rivya poller stopped." in process.stderr.read()
    finally:
        process.kill()
        process.wait()
