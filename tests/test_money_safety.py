"""The money rules end to end, against the sandbox over real HTTP with a real worker and
the poller: a create that may have reached Rivya is confirmed, never failed, and a made
video is kept."""

import pytest

from credits.models import CreditEntry
from generations import tasks
from generations.models import Status
from sandbox import models as sandbox_models
from sandbox.api import builtin_account
from tests.fixtures import run_until, set_knobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]

SETTLED = {Status.READY, Status.FAILED, Status.REJECTED, Status.ATTENTION}


def test_a_slow_create_with_nine_lost_answers_ends_ready_with_one_task(
    add_generation, settings, media_root
):
    # The first create outlasts the client's read timeout, so the next attempt meets it
    # still in progress (409); and the first nine answers for the key are dropped.
    settings.RIVYA_READ_TIMEOUT = 0.5
    set_knobs(create_delay_seconds=1.5, lose_first_answers=9)
    generation = add_generation()
    tasks.submit.enqueue(str(generation.pk))

    seen: list[str] = []
    generation = run_until(generation, SETTLED, hurry_retries=True, seen=seen, timeout=90)

    assert generation.status == Status.READY, (generation.error_code, generation.error_message)
    assert "failed" not in seen and "attention" not in seen
    assert "submitting" in seen  # it really waited for Rivya's confirmation
    assert generation.create_attempts >= 10  # nine answers lost, the tenth heard
    assert sandbox_models.Generation.objects.count() == 1
    assert builtin_account().balance == 10_000 - 55
    kinds = list(CreditEntry.objects.filter(generation=generation).values_list("kind", flat=True))
    assert sorted(kinds) == ["reserve", "settle"]
    assert (media_root / generation.video.name).stat().st_size == generation.video_size


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    client.force_login(admin)
    return client


def copy_again(staff_client, generation):
    response = staff_client.post(
        "/admin/generations/generation/",
        {"action": "copy_again", "_selected_action": [str(generation.pk)]},
        follow=True,
        headers={"accept-language": "en"},
    )
    assert "1 of 1 generation was sent back to work." in response.text


def test_a_result_on_a_refused_host_waits_for_staff_who_copy_it_again(
    add_generation, staff_client, live_server
):
    # The API is reached as "localhost"; links on 127.0.0.1 are another host, and a
    # loopback one: never downloaded from.
    set_knobs(media_host=f"127.0.0.1:{live_server.thread.port}")
    generation = add_generation()
    tasks.submit.enqueue(str(generation.pk))
    generation = run_until(generation, SETTLED, hurry_retries=True)

    assert generation.status == Status.ATTENTION
    assert generation.error_code == "media_host_refused"
    assert generation.result_urls and "127.0.0.1" in generation.result_urls[0]
    assert not generation.can_retry
    kinds = list(CreditEntry.objects.filter(generation=generation).values_list("kind", flat=True))
    assert sorted(kinds) == ["reserve", "settle"]  # Rivya charged; nothing is refunded

    set_knobs(media_host="")
    copy_again(staff_client, generation)
    generation = run_until(generation, SETTLED, hurry_retries=True)

    assert generation.status == Status.READY
    assert "localhost" in generation.result_urls[0]  # the re-read refreshed the links
    assert sandbox_models.Generation.objects.count() == 1
    assert builtin_account().balance == 10_000 - 55
