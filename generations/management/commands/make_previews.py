from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from generations import videos
from generations.models import Generation, Status
from teams.models import Team


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Make the gallery's media (small poster, placeholder colour, preview clip) for ready "
        "videos that lack them, newest first, from the stored video and poster. Safe to run "
        "again and while the app runs."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--team", type=positive, help="only this team's videos (its id)")
        parser.add_argument("--limit", type=positive, help="at most this many videos")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = (
            Generation.objects.filter(status=Status.READY, deleted_at__isnull=True)
            .exclude(video="")
            .filter(Q(poster_small="") | Q(preview="") | Q(placeholder=""))
            .order_by("-created_at", "-id")
        )
        if options["team"] is not None:
            if not Team.objects.filter(pk=options["team"]).exists():
                raise CommandError(f"There is no team {options['team']}.")
            rows = rows.filter(team_id=options["team"])
        ids = list(rows.values_list("pk", flat=True)[: options["limit"]])
        outcomes = {"made": 0, "failed": 0, "changed": 0}
        # Ids first, each row read fresh when its turn comes: the rows change under the loop.
        for pk in ids:
            generation = rows.filter(pk=pk).first()
            if generation is None:
                outcomes["changed"] += 1
                continue
            outcome = videos.fill_gallery_media(generation)
            outcomes[outcome] += 1
            if options["verbosity"] > 1:
                self.stdout.write(f"{generation.pk}: {outcome}")
        self.stdout.write(
            f"Gallery media made for {outcomes['made']} video(s); {outcomes['failed']} "
            f"failed (see the log); {outcomes['changed']} changed meanwhile and were left alone."
        )
