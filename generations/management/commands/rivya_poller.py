"""Run the Rivya poll loop until SIGTERM or SIGINT.

Each round calls ``generations.poller.poll_due()``; a round that handled a full batch
starts the next one at once, otherwise the loop sleeps ``--interval`` seconds. A signal
lets the current round finish and then stops the loop, so no claimed row is abandoned
half-way (its lease would expire anyway, but a clean stop does not wait for it).

Between rounds, once at start and then every ``--housekeeping-every`` seconds, the loop
also tidies up: it queues a refresh of Rivya's model catalog (the prices the form shows)
when it is empty or stale, deletes staged reference images whose form tokens have expired
(``prune_uploads``), the stored files of videos deleted longer ago than ``DELETE_GRACE_DAYS``
(``purge_deleted``) and finished task results older than 14 days
(``prune_db_task_results``), and sweeps budget holds: releases those of generations that
have ended and records the start of a budget month (``credits.budgets.sweep``). All are
safe to run from any number of pollers at once.

Once at start and then every minute, it also checks whether a balance snapshot is due
(``BALANCE_SNAPSHOT_MINUTES``) and queues ``snapshot_balance`` for the worker when it is.
"""

import logging
import signal
import threading
import time
from argparse import ArgumentParser, ArgumentTypeError
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from credits import budgets
from generations import actions, catalog, forms, poller, tasks
from generations.models import TERMINAL

logger = logging.getLogger("rivyaweb.poller")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
TASK_RESULTS_MIN_AGE_DAYS = 14
# How often the loop asks whether a balance snapshot is due (one indexed read).
BALANCE_CHECK_SECONDS = 60.0


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0 or number == float("inf"):
        raise ArgumentTypeError("must be a positive number of seconds")
    return number


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = "Poll Rivya for the status of generations that are due, until stopped."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval",
            type=positive_float,
            default=1.0,
            help="Seconds to wait after a round that found less than a full batch (default: 1).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=50,
            help="Most generations handled in one round (default: 50).",
        )
        parser.add_argument(
            "--housekeeping-every",
            type=positive_float,
            default=3600.0,
            help="Seconds between two rounds of housekeeping (default: 3600).",
        )
        parser.add_argument("--once", action="store_true", help="Run one round, then exit.")

    def handle(
        self,
        *args: Any,
        interval: float,
        batch_size: int,
        housekeeping_every: float,
        once: bool,
        **options: Any,
    ) -> None:
        if once:
            # No error handling here: a failed single round exits non-zero.
            handled = poller.poll_due(limit=batch_size)
            self.stdout.write(f"Handled {handled} generation(s).")
            return
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
        logger.info("Rivya poller started (interval %.1fs, batch %d).", interval, batch_size)
        next_housekeeping = next_balance_check = time.monotonic()
        try:
            while not stopping.is_set():
                if time.monotonic() >= next_housekeeping:
                    self.housekeeping()
                    next_housekeeping = time.monotonic() + housekeeping_every
                if time.monotonic() >= next_balance_check:
                    self.check_balance()
                    next_balance_check = time.monotonic() + BALANCE_CHECK_SECONDS
                if self.run_round(batch_size) < batch_size:
                    stopping.wait(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        logger.info("Rivya poller stopped.")

    def run_round(self, batch_size: int) -> int:
        """One call of ``poll_due``; an error is logged and the loop carries on."""
        close_old_connections()
        try:
            return poller.poll_due(limit=batch_size)
        except Exception:
            # A database restart or a bug in one round must not end the process:
            # the rows stay due and the next round tries again.
            logger.exception("Rivya poll round failed.")
            return 0
        finally:
            close_old_connections()

    def housekeeping(self) -> None:
        """Refresh the catalog if stale; delete expired staged images, the files of videos
        deleted past their grace period and old task results; sweep budget holds.

        Errors are logged, not raised: polling must go on whatever happens here.
        """
        close_old_connections()
        try:
            catalog.refresh_if_stale()
            removed = forms.prune_staged_references()
            if removed:
                logger.info("Housekeeping removed %d expired staged image(s).", removed)
            purged = actions.purge_deleted()
            if purged:
                logger.info("Housekeeping removed the files of %d deleted video(s).", purged)
            budgets.sweep(TERMINAL)
            call_command(
                "prune_db_task_results",
                queue_name="*",
                min_age_days=TASK_RESULTS_MIN_AGE_DAYS,
                verbosity=0,
            )
        except Exception:
            logger.exception("Housekeeping failed; it runs again later.")
        finally:
            close_old_connections()

    def check_balance(self) -> None:
        """Queue a balance snapshot when one is due; errors are logged, not raised."""
        close_old_connections()
        try:
            if tasks.snapshot_balance_if_due():
                logger.info("Housekeeping queued a balance snapshot.")
        except Exception:
            logger.exception("Balance snapshot check failed; it runs again later.")
        finally:
            close_old_connections()
