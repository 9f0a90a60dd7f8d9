import re
from datetime import timedelta

import pytest
from django.db.models import Value
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation, Status
from generations.views import version_of
from tests.fixtures import image_bytes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root"),
]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
UPDATES = reverse("card_updates")


def card_html(page: str, generation: Generation) -> str:
    match = re.search(rf'<article[^>]*id="gen-{generation.pk}".*?</article>', page, re.S)
    assert match, f"no card for {generation.pk}"
    return match.group(0)


def home(client) -> str:
    return client.get(reverse("home"), **EN).content.decode()


def updates(client, since, *generations, raw_ids=None):
    ids = raw_ids if raw_ids is not None else ",".join(str(g.pk) for g in generations)
    return client.get(UPDATES, {"since": since, "ids": ids}, **EN)


@pytest.mark.parametrize(
    ("status", "shown", "words"),
    [
        (Status.PENDING, "pending", "Waiting to send"),
        (Status.SUBMITTING, "submitting", "Sending"),
        (Status.QUEUED, "queued", "Queued"),
        (Status.PROCESSING, "processing", "Generating"),
        (Status.SAVING, "saving", "Saving"),
        (Status.READY, "ready", "Ready"),
        (Status.FAILED, "failed", "Failed"),
        (Status.REJECTED, "failed", "Failed"),
    ],
)
def test_card_carries_its_id_and_state(owner_client, add_generation, status, shown, words):
    generation = add_generation(status=status)
    card = card_html(home(owner_client), generation)
    assert f'data-generation-id="{generation.pk}"' in card
    assert f'data-status="{shown}"' in card
    assert 'class="card gen-card' in card
    assert f">{words}</span>" in card


def test_ready_card_plays_from_our_playback_url(owner_client, add_generation):
    generation = add_generation(
        status=Status.READY, video=b"\0\0\0\x18ftypmp42", poster=image_bytes("JPEG")
    )
    card = card_html(home(owner_client), generation)
    assert re.search(
        rf'<video[^>]*controls[^>]*preload="metadata"[^>]*'
        rf'poster="/generations/{generation.pk}/poster"[^>]*'
        rf'src="/generations/{generation.pk}/video"',
        card,
    )


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (Status.REJECTED, "insufficient_credits", "There are not enough credits for this video."),
        (Status.REJECTED, "validation_failed", "Rivya refused the prompt or its settings."),
        (Status.REJECTED, "api_key_revoked", "Rivya refused our access key"),
        (Status.REJECTED, "idempotency_conflict", "as a duplicate of another one"),
        (Status.REJECTED, "submit_gave_up", "Rivya could not be reached for a day"),
        (Status.REJECTED, "something_new", "Rivya refused this video. Nothing was charged."),
        (Status.FAILED, "generation_failed", "Rivya could not make this video."),
        (Status.FAILED, "content_policy", "Rivya could not make this video."),
    ],
)
def test_failed_cards_explain_and_offer_retry(owner_client, add_generation, status, code, message):
    generation = add_generation(status=status, error_code=code)
    card = card_html(home(owner_client), generation)
    assert message in card
    assert "could not be saved here" not in card
    assert f'action="/generations/{generation.pk}/retry"' in card
    assert 'method="post"' in card


def test_a_failed_card_shows_rivyas_own_words(owner_client, add_generation):
    generation = add_generation(
        status=Status.FAILED, error_code="generation_failed", rivya_message="Upstream said <no>."
    )
    card = card_html(home(owner_client), generation)
    assert "Rivya says: “Upstream said &lt;no&gt;.”" in card


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("create_unconfirmed", "Rivya never confirmed this request."),
        ("task_not_found", "Rivya no longer finds this video"),
        ("media_host_refused", "its link points to a host we do not download from"),
        ("not_mp4", "did not give an MP4 file"),
        ("download_truncated", "copying it here failed"),
    ],
)
def test_cards_that_need_attention_explain_and_never_offer_retry(
    owner_client, add_generation, code, message
):
    generation = add_generation(status=Status.ATTENTION, error_code=code, rivya_task_id="task_x")
    page = home(owner_client)
    card = card_html(page, generation)
    assert message in card
    assert "Needs attention" in card
    assert "/retry" not in card
    assert str(generation.pk) not in re.search(r'<div id="card-poller".*?</div>', page, re.S)[0]

    response = owner_client.post(f"/generations/{generation.pk}/retry")
    assert response.status_code == 302
    assert Generation.objects.count() == 1  # nothing paid twice


def test_a_copy_being_retried_says_so_on_its_card(owner_client, add_generation):
    generation = add_generation(status=Status.SAVING, notice="copy_retry")
    card = card_html(home(owner_client), generation)
    assert "copying it here failed, retrying…" in card
    assert "Retry</button>" not in card
    assert 'id="rivya-status" class="rivya-status" role="status"></div>' in home(owner_client)


def banner(page: str) -> str:
    match = re.search(r'<div id="rivya-status"[^>]*>(.*?)</div>', page, re.S)
    assert match, "no Rivya status on the page"
    return match.group(1)


@pytest.mark.parametrize(
    ("notice", "words"),
    [
        ("rate_limited", "Rivya is busy and asks us to slow down; your videos keep their place"),
        ("unavailable", "Rivya is not answering; your videos keep their place"),
        ("access_refused", "Rivya refused our access key; an administrator must check it."),
    ],
)
def test_rivya_out_of_reach_is_one_banner_not_trouble_on_every_card(
    owner_client, add_generation, notice, words
):
    waiting = [add_generation(status=Status.QUEUED, notice=notice) for _ in range(3)]
    page = home(owner_client)
    assert page.count('class="rivya-banner"') == 1
    assert words in banner(page)
    for generation in waiting:
        card = card_html(page, generation)
        assert "Waiting for Rivya" in card
        assert "gen-notice" not in card and "retrying" not in card
        assert "Retry</button>" not in card


def test_the_banner_names_the_most_serious_outage(owner_client, add_generation):
    add_generation(status=Status.QUEUED, notice="rate_limited")
    add_generation(status=Status.PROCESSING, notice="unavailable")
    add_generation(status=Status.READY, notice="access_refused")  # finished: not waiting
    page = home(owner_client)
    assert "Rivya is not answering" in banner(page)
    assert "access key" not in banner(page)


def test_the_banner_follows_the_cards_updates(owner_client, add_generation):
    generation = add_generation(status=Status.QUEUED)
    other = add_generation(status=Status.QUEUED)
    page = home(owner_client)
    assert banner(page) == ""
    since = version_of(Generation.objects.order_by("-changed_at").first().changed_at)

    generation.write(notice="unavailable")
    response = updates(owner_client, since, generation, other)
    assert response.status_code == 200
    status = re.search(r'<div id="rivya-status"[^>]*>', response.content.decode()).group(0)
    assert 'hx-swap-oob="innerHTML"' in status
    assert "Rivya is not answering" in banner(response.content.decode())
    assert "Waiting for Rivya" in card_html(response.content.decode(), generation)

    since = version_of(Generation.objects.get(pk=generation.pk).changed_at)
    generation.move(Status.PROCESSING, notice="")
    response = updates(owner_client, since, generation, other)
    assert banner(response.content.decode()) == ""


def test_another_cards_outage_still_shows_when_one_card_changes(owner_client, add_generation):
    waiting = add_generation(status=Status.QUEUED, notice="rate_limited")
    moving = add_generation(status=Status.QUEUED)
    since = max(version_of(waiting.changed_at), version_of(moving.changed_at))
    moving.move(Status.PROCESSING)
    page = updates(owner_client, since, waiting, moving).content.decode()
    assert f'id="gen-{waiting.pk}"' not in page  # unchanged: not sent again
    assert "Rivya is busy" in banner(page)


# --- How long a video usually takes -----------------------------------------------------------


def made_in(
    add_generation, seconds, *, duration=10, sound=True, hours_ago=1, status=Status.READY, **fields
):
    """A video of the owner's team (ready unless told) that ended ``seconds`` after its request."""
    start = timezone.now() - timedelta(hours=hours_ago)
    return add_generation(
        status=status,
        duration=duration,
        sound=sound,
        created_at=start,
        finished_at=start + timedelta(seconds=seconds),
        **fields,
    )


def test_an_in_flight_card_shows_the_teams_usual_time_for_its_choice(
    owner_client, add_generation, outsider, outsider_team
):
    for seconds in (60, 80, 100):
        made_in(add_generation, seconds)
    made_in(add_generation, 9, team=outsider_team, user=outsider)  # another team's
    made_in(add_generation, 30, duration=5, sound=True)  # another choice
    made_in(add_generation, 2, status=Status.FAILED)
    running = add_generation(status=Status.PROCESSING, duration=10, sound=True)
    first_of_its_kind = add_generation(status=Status.PROCESSING, duration=5, sound=False)

    page = home(owner_client)

    card = card_html(page, running)
    assert re.search(r'<div class="gen-progress has-estimate"[^>]*data-estimate="80"', card)
    assert "Usually about 1:20" in card
    unknown = card_html(page, first_of_its_kind)
    assert 'class="gen-progress"' in unknown  # moves, without claiming how far
    assert "data-estimate" not in unknown and "Usually about" not in unknown


def test_the_usual_time_is_the_median_of_the_latest_twenty(owner_client, add_generation):
    for _ in range(5):
        made_in(add_generation, 600, hours_ago=5)  # older: left out
    for i in range(20):
        made_in(add_generation, 40 + i, hours_ago=2)
    running = add_generation(status=Status.QUEUED, duration=10, sound=True)
    card = card_html(home(owner_client), running)
    assert 'data-estimate="50"' in card  # median of 40…59 is 49.5, rounded to even


def test_finished_cards_carry_no_estimate(owner_client, add_generation):
    made_in(add_generation, 70)
    failed = add_generation(status=Status.FAILED, duration=10, sound=True)
    page = home(owner_client)
    assert "data-estimate" not in page
    assert "Usually about" not in card_html(page, failed)


def test_updated_cards_carry_the_estimate(owner_client, add_generation):
    made_in(add_generation, 75)
    generation = add_generation(status=Status.QUEUED, duration=10, sound=True)
    since = version_of(generation.changed_at)
    generation.move(Status.PROCESSING)
    card = card_html(updates(owner_client, since, generation).content.decode(), generation)
    assert 'data-estimate="75"' in card


def test_estimates_cost_one_query_however_many_cards(owner_client, add_generation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    made_in(add_generation, 75)
    add_generation(status=Status.PROCESSING, duration=10, sound=True)
    with CaptureQueriesContext(connection) as one:
        home(owner_client)
    for duration, sound in ((5, False), (5, True), (10, False), (10, True), (10, True)):
        add_generation(status=Status.PROCESSING, duration=duration, sound=sound)
    with CaptureQueriesContext(connection) as six:
        home(owner_client)
    assert len(six.captured_queries) == len(one.captured_queries)


def test_a_page_with_nothing_in_flight_does_not_ask_for_estimates(owner_client, add_generation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    made_in(add_generation, 75)
    with CaptureQueriesContext(connection) as queries:
        home(owner_client)
    assert not [q for q in queries.captured_queries if '"finished_at" IS NOT NULL' in q["sql"]]


# --- The media box keeps the video's shape ----------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "shape"), [("1:1", "ratio-11"), ("16:9", "ratio-169"), ("9:16", "ratio-916")]
)
@pytest.mark.parametrize("status", [Status.PENDING, Status.PROCESSING, Status.READY, Status.FAILED])
def test_every_card_has_a_media_box_of_its_aspect_ratio(
    owner_client, add_generation, ratio, shape, status
):
    generation = add_generation(status=status, aspect_ratio=ratio)
    card = card_html(home(owner_client), generation)
    assert f'<div class="gen-media {shape}">' in card
    assert "style=" not in card


def test_an_unconfirmed_create_says_since_when(owner_client, add_generation):
    since = timezone.now() - timedelta(minutes=3)
    generation = add_generation(
        status=Status.SUBMITTING, notice="confirming", first_create_at=since, create_attempts=4
    )
    card = card_html(home(owner_client), generation)
    assert "Confirming with Rivya since " in card
    assert "Retry</button>" not in card


def card_time(card: str) -> re.Match[str]:
    match = re.search(r'<time class="card-time ([a-z-]+)"([^>]*)>([^<]*)</time>', card)
    assert match, card
    return match


def test_a_card_in_flight_says_how_long_since_the_request(owner_client, add_generation):
    generation = add_generation(
        status=Status.PROCESSING, created_at=timezone.now() - timedelta(seconds=65)
    )
    kind, attributes, text = card_time(card_html(home(owner_client), generation)).groups()
    assert kind == "elapsed"
    assert re.fullmatch(r"1:0[56] elapsed", text)
    # The script ticks it with the same translated words, numbers only changing.
    assert 'data-label="{time} elapsed"' in attributes
    assert "data-started=" in attributes
    assert re.search(r'datetime="PT6[56]S"', attributes)


def test_elapsed_time_is_labelled_in_vietnamese(owner_client, add_generation):
    generation = add_generation(
        status=Status.QUEUED, created_at=timezone.now() - timedelta(seconds=13)
    )
    page = owner_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    _kind, attributes, text = card_time(card_html(page, generation)).groups()
    assert re.fullmatch(r"đã chờ 0:1[34]", text)
    assert 'data-label="đã chờ {time}"' in attributes


@pytest.mark.parametrize(
    ("measured", "asked", "shown", "iso"),
    [
        (7.6, 5, "0:08 long", "PT8S"),  # measured on the mirrored file
        (None, 10, "0:10 long", "PT10S"),  # not measured: the length asked for
        (0.0, 5, "0:05 long", "PT5S"),
    ],
)
def test_a_ready_card_shows_the_videos_length(
    owner_client, add_generation, measured, asked, shown, iso
):
    start = timezone.now() - timedelta(minutes=5)
    generation = add_generation(
        status=Status.READY,
        created_at=start,
        finished_at=start + timedelta(seconds=65),
        duration=asked,
        video_duration=measured,
    )
    kind, attributes, text = card_time(card_html(home(owner_client), generation)).groups()
    assert (kind, text) == ("video-length", shown)
    assert f'datetime="{iso}"' in attributes
    assert "data-started" not in attributes  # nothing for the script to tick
    assert 'title="Length of the video"' in attributes


def test_a_failed_card_says_how_long_it_took(owner_client, add_generation):
    start = timezone.now() - timedelta(minutes=5)
    generation = add_generation(
        status=Status.FAILED, created_at=start, finished_at=start + timedelta(seconds=65)
    )
    kind, attributes, text = card_time(card_html(home(owner_client), generation)).groups()
    assert (kind, text) == ("elapsed", "after 1:05")
    assert "data-started" not in attributes
    assert 'datetime="PT65S"' in attributes


def test_prompts_are_escaped_on_cards(owner_client, add_generation):
    generation = add_generation(prompt='<script>alert("x")</script>')
    card = card_html(home(owner_client), generation)
    assert "<script>" not in card


def test_page_poller_follows_only_cards_in_flight(owner_client, add_generation):
    running = add_generation(status=Status.PROCESSING)
    done = add_generation(status=Status.READY)
    page = home(owner_client)
    poller = re.search(r'<div id="card-poller".*?</div>', page, re.S).group(0)
    assert 'hx-trigger="every 2s, poll-now"' in poller
    assert f"ids={running.pk}" in poller
    assert str(done.pk) not in poller
    assert poller.count('id="card-poller"') == 1


def test_page_without_work_in_flight_does_not_poll(owner_client, add_generation):
    add_generation(status=Status.READY)
    page = home(owner_client)
    poller = re.search(r'<div id="card-poller".*?</div>', page, re.S).group(0)
    assert "hx-get" not in poller


def test_a_change_always_gets_a_version_after_the_teams_newest(
    add_generation, outsider_team, outsider
):
    ahead = add_generation(status=Status.QUEUED)
    moving = add_generation(status=Status.QUEUED)
    other_team = add_generation(status=Status.QUEUED, team=outsider_team, user=outsider)
    # A version ahead of the database's clock (another clock, or the same millisecond).
    newest = timezone.now() + timedelta(hours=1)
    Generation.objects.filter(pk=ahead.pk).update(changed_at=newest)

    assert moving.move(Status.PROCESSING)
    assert moving.changed_at == newest + timedelta(microseconds=1)
    moving.write(notice="")
    assert moving.changed_at == newest + timedelta(microseconds=2)
    # Another team's versions are its own: they follow the clock.
    assert other_team.move(Status.PROCESSING)
    assert other_team.changed_at < newest


def test_updates_answer_204_when_nothing_changed(owner_client, add_generation):
    generation = add_generation(status=Status.QUEUED)
    response = updates(owner_client, version_of(generation.changed_at), generation)
    assert response.status_code == 204
    assert response.content == b""


def test_a_version_on_a_whole_second_is_not_news(owner_client, add_generation):
    """The database's clock writes "…:02.000"; the version handed out for it reads back as
    "…:02" on SQLite. Asked with that version, the card has not changed."""
    generation = add_generation(status=Status.QUEUED)
    Generation.objects.filter(pk=generation.pk).update(changed_at=Value("2026-11-30 00:35:02.000"))
    version = version_of(Generation.objects.get(pk=generation.pk).changed_at)
    assert version % 1_000_000 == 0
    assert updates(owner_client, version, generation).status_code == 204
    assert updates(owner_client, version - 1, generation).status_code == 200


def test_updates_swap_only_the_changed_cards(owner_client, add_generation):
    changed = add_generation(status=Status.QUEUED)
    quiet = add_generation(status=Status.QUEUED)
    since = max(version_of(changed.changed_at), version_of(quiet.changed_at))
    changed.move(Status.PROCESSING)

    response = updates(owner_client, since, changed, quiet)
    page = response.content.decode()
    assert response.status_code == 200
    card = card_html(page, changed)
    assert 'hx-swap-oob="outerHTML"' in card
    assert 'data-status="processing"' in card
    assert f'id="gen-{quiet.pk}"' not in page
    new_version = version_of(Generation.objects.get(pk=changed.pk).changed_at)
    poller = re.search(r'<div id="card-poller".*?</div>', page, re.S).group(0)
    assert 'hx-swap-oob="outerHTML"' in poller
    assert f"since={new_version}" in poller
    assert str(changed.pk) in poller and str(quiet.pk) in poller
    # Asked again with the new version: nothing more to say.
    assert updates(owner_client, new_version, changed, quiet).status_code == 204


def test_updates_stop_polling_when_nothing_is_in_flight(owner_client, add_generation):
    generation = add_generation(status=Status.SAVING)
    since = version_of(generation.changed_at)
    generation.move(Status.READY, video="x/video.mp4")
    response = updates(owner_client, since, generation)
    page = response.content.decode()
    assert response.status_code == 286  # htmx stops polling on this status
    assert 'data-status="ready"' in card_html(page, generation)
    poller = re.search(r'<div id="card-poller".*?</div>', page, re.S).group(0)
    assert "hx-get" not in poller and "hx-trigger" not in poller


def test_a_finished_card_is_sent_even_if_its_version_looks_old(owner_client, add_generation):
    # A change committed late can carry a changed_at older than a version already handed out.
    generation = add_generation(status=Status.FAILED, error_code="generation_failed")
    response = updates(owner_client, version_of(generation.changed_at) + 10**9, generation)
    assert response.status_code == 286
    assert 'data-status="failed"' in card_html(response.content.decode(), generation)


def test_updates_without_ids_stop_polling(owner_client):
    response = updates(owner_client, 0, raw_ids="")
    assert response.status_code == 286
    assert "hx-get" not in response.content.decode()


def test_updates_never_show_another_teams_cards(outsider_client, add_generation, owner, team):
    running = add_generation(status=Status.PROCESSING)
    finished = add_generation(status=Status.READY)
    response = updates(outsider_client, 0, running, finished)
    assert response.status_code == 204
    assert str(running.pk) not in response.content.decode()


@pytest.mark.parametrize("since", ["abc", "-5", "1e9", "9" * 40, "", "0x10"])
def test_bad_versions_count_as_zero(owner_client, add_generation, since):
    generation = add_generation(status=Status.QUEUED)
    response = updates(owner_client, since, generation)
    assert response.status_code == 200
    assert f'id="gen-{generation.pk}"' in response.content.decode()


def test_bad_ids_are_ignored(owner_client, add_generation):
    generation = add_generation(status=Status.QUEUED)
    raw = f"not-a-uuid,{generation.pk},,../../etc"
    response = updates(owner_client, 0, raw_ids=raw)
    assert response.status_code == 200
    assert f'id="gen-{generation.pk}"' in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_card_appears_and_updates_without_a_reload(live_server, page, owner, password, tmp_path):
    from playwright.sync_api import expect

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")  # the top bar has the language buttons
    page.wait_for_url(f"{live_server.url}{reverse('home')}")  # loaded, scripts and all

    page.fill("#id_prompt", "ho\u031b\u0300 ")  # "hờ" typed as h, o, horn, grave accent
    expect(page.locator(".counter-value")).to_have_text("2")  # counted composed, as sent
    page.fill("#id_prompt", "😀 abc ")
    expect(page.locator(".counter-value")).to_have_text("6")  # trimmed, UTF-16 units
    image = tmp_path / "kite.png"
    image.write_bytes(image_bytes())
    page.set_input_files("#id_reference_image", str(image))
    expect(page.locator(".reference-preview img")).to_be_visible()
    page.locator("label[for=id_aspect_ratio_1]").click()
    page.keyboard.press("ArrowRight")  # shape choices are real radios: keyboard works
    page.click("#generation-form button[type=submit]")

    expect(page.locator("article.card")).to_have_count(1)
    generation = Generation.objects.get()
    assert generation.aspect_ratio == "9:16"
    assert generation.reference_image
    # A fresh form: the prompt, the shape and the image kept.
    expect(page.locator("#id_prompt")).to_have_value("😀 abc")
    expect(page.locator("#id_aspect_ratio_2")).to_be_checked()
    expect(page.locator(".reference-preview")).to_be_visible()
    # The in-flight card's time ticks (the script runs under the CSP) and keeps its label.
    expect(page.locator(f"#gen-{generation.pk} time.elapsed")).to_have_text(
        re.compile(r"^(0:0[1-9] elapsed|đã chờ 0:0[1-9])$"), timeout=5_000
    )

    generation.move(Status.REJECTED, error_code="insufficient_credits")
    card = page.locator(f"#gen-{generation.pk}")
    expect(card).to_have_attribute("data-status", "failed", timeout=10_000)
    expect(card).to_contain_text("Retry")
    expect(page.locator("#card-poller")).not_to_have_attribute("hx-get", re.compile(".*"))
    assert not [line for line in console if "Content Security Policy" in line]
