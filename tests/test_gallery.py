"""The team gallery: scoping, filters, search, keyset pages, day headings, query counts."""

import hashlib
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generations import gallery
from generations.models import Favourite, Generation, Status
from teams.models import Membership

pytestmark = pytest.mark.django_db

TILE_ID = re.compile(r'<article class="gallery-tile[^"]*" data-generation-id="([0-9a-f-]{36})"')
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
DAY = re.compile(r'<h2 class="gallery-day"><time datetime="([0-9-]+)">')
EN = {"headers": {"accept-language": "en"}}
HTMX = {"headers": {"accept-language": "en", "hx-request": "true"}}
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def make(team, owner):
    """Build ready generations of the owner's team in bulk, ``step`` apart from ``start``
    backwards (newest first), returning them newest first."""

    def build(count=1, *, start=NOON, step=timedelta(minutes=1), team=team, user=owner, **fields):
        fields.setdefault("status", Status.READY)
        fields.setdefault("prompt", "A paper boat drifting down a rainy street")
        rows = []
        for i in range(count):
            pk = uuid.uuid4()
            created = start - i * step
            rows.append(
                Generation(
                    id=pk,
                    team=team,
                    created_by=user,
                    idempotency_key=str(pk),
                    created_at=created,
                    changed_at=created,
                    **{"poster": f"teams/{team.pk}/generations/{pk}/poster.jpg", **fields},
                )
            )
        return Generation.objects.bulk_create(rows)

    return build


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return TILE_ID.findall(response.content.decode())


def ids_in(response) -> list[str]:
    return TILE_ID.findall(response.content.decode())


def next_link(response) -> str | None:
    found = NEXT.search(response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


def shown(client, **params) -> set[str]:
    return set(ids(client.get(reverse("gallery"), params, **EN)))


def as_ids(rows) -> set[str]:
    return {str(row.pk) for row in rows}


def walk(client, params) -> list[str]:
    """Every tile id of every page, following ``rel=next`` links."""
    seen: list[str] = []
    url = reverse("gallery")
    response = client.get(url, params, **EN)
    while True:
        seen += ids(response)
        link = next_link(response)
        if link is None:
            return seen
        response = client.get(link, **EN)


# --- Who sees what -------------------------------------------------------------------------


def test_gallery_asks_anonymous_visitors_to_log_in():
    response = Client().get(reverse("gallery"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_gallery_shows_only_the_current_teams_videos(
    make, owner_client, outsider_client, outsider, outsider_team
):
    mine = make(3)
    theirs = make(2, team=outsider_team, user=outsider)
    assert shown(owner_client) == as_ids(mine)
    assert shown(outsider_client) == as_ids(theirs)


def test_gallery_follows_the_team_switcher(make, owner, owner_client, outsider, outsider_team):
    Membership.objects.create(team=outsider_team, user=owner, role=Membership.Role.MEMBER)
    mine = make(1)
    theirs = make(1, team=outsider_team, user=outsider)
    assert shown(owner_client) == as_ids(mine)
    Membership.objects.filter(team=outsider_team, user=owner).update(chosen_at=timezone.now())
    assert shown(owner_client) == as_ids(theirs)


def test_gallery_hides_soft_deleted_videos(make, owner, owner_client):
    kept, deleted = make(2)
    Generation.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now(), deleted_by=owner)
    assert shown(owner_client, status="all") == {str(kept.pk)}


def test_header_links_to_the_gallery(owner_client):
    page = owner_client.get(reverse("home"), **EN).content.decode()
    assert f'href="{reverse("gallery")}"' in page


# --- Tiles --------------------------------------------------------------------------------------


def test_tile_carries_poster_sizes_preview_badges_and_link(make, owner_client):
    (generation,) = make(
        1,
        aspect_ratio="16:9",
        duration=10,
        sound=True,
        poster_small="small.jpg",
        preview="preview.mp4",
        placeholder="#a1b2c3",
        video_width=1280,
    )
    page = owner_client.get(reverse("gallery"), **EN).content.decode()
    poster = reverse("generation_poster", args=[generation.pk])
    assert f'data-generation-id="{generation.pk}"' in page
    assert f'data-preview="{reverse("generation_preview", args=[generation.pk])}"' in page
    assert f'srcset="{poster}?size=small 480w, {poster} 1280w"' in page
    assert 'loading="lazy"' in page and 'decoding="async"' in page
    assert 'width="480" height="270"' in page
    assert "ratio-169" in page
    assert 'fill="#a1b2c3"' in page
    assert f'href="{generation.get_absolute_url()}"' in page
    assert "10 s" in page and "With sound" in page and "owner" in page
    assert reverse("generation_video", args=[generation.pk]) not in page


def test_tiles_without_preview_or_poster_say_their_status(make, owner_client):
    (ready,) = make(1, start=NOON)
    (failed,) = make(1, start=NOON - timedelta(hours=1), status=Status.FAILED, poster="")
    page = owner_client.get(reverse("gallery"), {"status": "all"}, **EN).content.decode()
    assert "data-preview" not in page
    assert "srcset" not in page  # no small posters yet: the plain poster only
    failed_tile = page[page.index(f'data-generation-id="{failed.pk}"') :]
    assert "Failed" in failed_tile[: failed_tile.index("</article>")]


def test_checkboxes_join_the_download_form(make, owner_client):
    (generation,) = make(1)
    page = owner_client.get(reverse("gallery"), **EN).content.decode()
    action = reverse("gallery_download")
    assert f'id="gallery-download" class="gallery-download" method="post" action="{action}"' in page
    assert (
        f'<input type="checkbox" name="ids" value="{generation.pk}" form="gallery-download">'
        in page
    )


def test_empty_gallery_says_so(owner_client):
    page = owner_client.get(reverse("gallery"), **EN).content.decode()
    assert "No videos yet." in page
    filtered = owner_client.get(reverse("gallery"), {"q": "kite"}, **EN).content.decode()
    assert "No videos match these filters." in filtered


# --- Filters ------------------------------------------------------------------------------------


def test_status_filter_defaults_to_ready_and_groups_states(make, owner_client):
    rows = {
        status: make(1, status=status, start=NOON - timedelta(minutes=i))[0]
        for i, status in enumerate(Status)
    }

    def of(*statuses):
        return {str(rows[s].pk) for s in statuses}

    assert shown(owner_client) == of(Status.READY)
    assert shown(owner_client, status="ready") == of(Status.READY)
    assert shown(owner_client, status="failed") == of(Status.FAILED, Status.REJECTED)
    assert shown(owner_client, status="attention") == of(Status.ATTENTION)
    assert shown(owner_client, status="in_progress") == of(
        Status.PENDING, Status.SUBMITTING, Status.QUEUED, Status.PROCESSING, Status.SAVING
    )
    assert shown(owner_client, status="all") == of(*Status)


def test_filters_by_creator_ratio_duration_and_sound(make, owner_client, member, team):
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    square = make(1, start=NOON)[0]
    wide_loud = make(1, start=NOON - timedelta(hours=1), aspect_ratio="16:9", sound=True)[0]
    tall_long = make(1, start=NOON - timedelta(hours=2), aspect_ratio="9:16", duration=10)[0]
    by_member = make(1, start=NOON - timedelta(hours=3), user=member, sound=True)[0]

    assert shown(owner_client, creator=member.pk) == {str(by_member.pk)}
    assert shown(owner_client, aspect_ratio="16:9") == {str(wide_loud.pk)}
    assert shown(owner_client, duration="10") == {str(tall_long.pk)}
    assert shown(owner_client, sound="on") == as_ids([wide_loud, by_member])
    assert shown(owner_client, sound="off") == as_ids([square, tall_long])
    assert shown(owner_client, sound="on", creator=member.pk, aspect_ratio="1:1") == {
        str(by_member.pk)
    }


def test_creator_filter_offers_only_team_members(make, owner_client, outsider):
    page = owner_client.get(reverse("gallery"), **EN).content.decode()
    assert "outsider" not in page
    response = owner_client.get(reverse("gallery"), {"creator": outsider.pk}, **EN)
    assert "Creator:" in response.content.decode()


def test_date_filter_is_inclusive_in_the_viewers_time_zone(make, owner_client):
    owner_client.cookies["tz"] = "Asia/Ho_Chi_Minh"  # UTC+7, as the browser said
    # 20 Nov 17:30 UTC is already 21 Nov 00:30 in Hanoi.
    late = make(1, start=datetime(2026, 11, 20, 17, 30, tzinfo=UTC))[0]
    early = make(1, start=datetime(2026, 11, 20, 16, 30, tzinfo=UTC))[0]
    before = make(1, start=datetime(2026, 11, 18, 12, 0, tzinfo=UTC))[0]
    assert shown(owner_client, **{"from": "2026-11-21", "to": "2026-11-21"}) == {str(late.pk)}
    assert shown(owner_client, **{"from": "2026-11-20", "to": "2026-11-20"}) == {str(early.pk)}
    assert shown(owner_client, **{"to": "2026-11-19"}) == {str(before.pk)}
    assert shown(owner_client, **{"from": "2026-11-19"}) == as_ids([late, early])


def test_day_headings_follow_the_viewers_time_zone(make, owner_client, settings):
    make(1, start=datetime(2026, 11, 20, 17, 30, tzinfo=UTC))
    days = DAY.findall(owner_client.get(reverse("gallery"), **EN).content.decode())
    assert days == ["2026-11-20"]  # the site's time zone (UTC)
    owner_client.cookies["tz"] = "Asia/Ho_Chi_Minh"
    days = DAY.findall(owner_client.get(reverse("gallery"), **EN).content.decode())
    assert days == ["2026-11-21"]
    owner_client.cookies["tz"] = "Not/AZone"  # ignored
    settings.TIME_ZONE = "America/New_York"
    days = DAY.findall(owner_client.get(reverse("gallery"), **EN).content.decode())
    assert days == ["2026-11-20"]


def test_favourites_are_the_viewers_own(make, owner, member, owner_client, team):
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    liked, other, theirs = make(3)
    Favourite.objects.create(user=owner, generation=liked)
    Favourite.objects.create(user=member, generation=theirs)
    assert shown(owner_client, favourites="on") == {str(liked.pk)}
    member_client = Client()
    member_client.force_login(member)
    assert shown(member_client, favourites="on") == {str(theirs.pk)}


def test_order_oldest_first(make, owner_client):
    rows = make(5)
    response = owner_client.get(reverse("gallery"), {"order": "oldest"}, **EN)
    assert ids(response) == [str(r.pk) for r in reversed(rows)]
    assert ids(owner_client.get(reverse("gallery"), **EN)) == [str(r.pk) for r in rows]


# --- Search ---------------------------------------------------------------------------------------


@pytest.fixture
def prompts(make):
    texts = [
        "Một con mèo cam nhảy qua hàng rào gỗ lúc hoàng hôn",
        "Con mèo đen ngủ trên mái nhà dưới mưa",
        "A red kite over rice fields at dawn",
        "Sóng biển vỗ vào ghềnh đá lúc bình minh",
    ]
    return {
        text: make(1, prompt=text, start=NOON - timedelta(minutes=i))[0]
        for i, text in enumerate(texts)
    }


def test_search_finds_vietnamese_words_with_diacritics(prompts, owner_client):
    cat_orange, cat_black, kite, waves = prompts.values()
    assert shown(owner_client, q="mèo") == as_ids([cat_orange, cat_black])
    assert shown(owner_client, q="mèo hoàng") == {str(cat_orange.pk)}
    assert shown(owner_client, q="bình minh") == {str(waves.pk)}
    assert shown(owner_client, q="kite") == {str(kite.pk)}
    assert shown(owner_client, q="kite fields") == {str(kite.pk)}
    assert shown(owner_client, q="mèo -đen") == {str(cat_orange.pk)}
    assert shown(owner_client, q="giraffe") == set()


def test_search_ignores_case_in_vietnamese_letters_too(prompts, owner_client):
    """ "Đàn", "MÈO", "Sóng" find their lowercase words on both databases, beyond ASCII."""
    cat_orange, cat_black, kite, waves = prompts.values()
    assert shown(owner_client, q="MÈO") == as_ids([cat_orange, cat_black])
    assert shown(owner_client, q="ĐEN") == {str(cat_black.pk)}
    assert shown(owner_client, q="sóng BIỂN") == {str(waves.pk)}
    assert shown(owner_client, q="mèo -ĐEN") == {str(cat_orange.pk)}
    assert shown(owner_client, q="KITE") == {str(kite.pk)}


def test_search_matches_words_typed_with_decomposed_accents(prompts, owner_client):
    """Some keyboards send "ò" as "o" plus a combining accent: the same word to a person."""
    import unicodedata

    *_, waves = prompts.values()
    assert shown(owner_client, q=unicodedata.normalize("NFD", "sóng biển")) == {str(waves.pk)}


def test_search_combines_with_filters(prompts, owner_client):
    cat_orange, cat_black, *_ = prompts.values()
    Generation.objects.filter(pk=cat_black.pk).update(sound=True)
    assert shown(owner_client, q="mèo", sound="on") == {str(cat_black.pk)}


@pytest.mark.parametrize("query", ['"', "-", "!!! &&& |||", "'; DROP TABLE x; --", "a:*"])
def test_search_survives_odd_queries(prompts, owner_client, query):
    assert owner_client.get(reverse("gallery"), {"q": query}, **EN).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text index on PostgreSQL")
def test_search_uses_the_gin_index_on_postgresql(prompts):
    # With sequential scans priced out, the only way left to evaluate the search is the
    # index, and only if the query's expression is exactly the index's.
    rows = gallery.search(Generation.objects.all(), "mèo hoàng")
    with connection.cursor() as cursor:
        # Plain index scans priced out too: with few rows the planner may otherwise walk
        # the created-at index and filter, which says nothing about the search index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = rows.order_by().explain()
    assert "Bitmap Index Scan on gen_prompt_search" in plan
    assert list(rows) == [prompts["Một con mèo cam nhảy qua hàng rào gỗ lúc hoàng hôn"]]


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"status": "bogus"}, "Status:"),
        ({"creator": "abc"}, "Creator:"),
        ({"creator": "999999"}, "Creator:"),
        ({"aspect_ratio": "4:3"}, "Aspect ratio:"),
        ({"duration": "7"}, "Duration:"),
        ({"sound": "maybe"}, "Sound:"),
        ({"from": "yesterday"}, "From:"),
        ({"to": "2026-02-30"}, "To:"),
        ({"from": "0001-01-01"}, "From:"),
        ({"to": "9999-12-31"}, "To:"),
        ({"from": "2026-11-21", "to": "2026-11-01"}, "start date is after the end date"),
        ({"favourites": "perhaps"}, "My favourites only:"),
        ({"order": "sideways"}, "Order:"),
        ({"q": "kite\x00"}, "Search prompts:"),
        ({"q": "x" * 500}, "Search prompts:"),
    ],
)
def test_bad_filters_are_shown_and_ignored(make, owner_client, params, word):
    rows = make(2)
    response = owner_client.get(reverse("gallery"), params, **EN)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Some filters were not understood and are ignored" in page
    assert word in page
    if "q" not in params:
        assert set(TILE_ID.findall(page)) == as_ids(rows)


@pytest.mark.parametrize(
    "after", ["garbage", "!!!", "MTIz", "OTk5OTk5OTk5OTk5OTk5OTk5OTkuYWJj", ""]
)
def test_an_unreadable_cursor_gives_the_first_page(make, owner_client, after):
    rows = make(3)
    response = owner_client.get(reverse("gallery"), {"after": after}, **EN)
    assert ids(response) == [str(r.pk) for r in rows]
    if after:
        assert "was not understood" in response.content.decode()


def test_load_more_with_an_unreadable_cursor_adds_nothing(make, owner_client):
    make(3)
    response = owner_client.get(reverse("gallery"), {"after": "garbage"}, **HTMX)
    assert response.status_code == 400
    assert b"not understood" in response.content
    assert not ids_in(response)


# --- Keyset pages ---------------------------------------------------------------------------------


def test_pages_cover_every_row_once_in_both_orders_even_with_equal_times(make, owner_client):
    # 130 rows, many sharing a creation time: the id breaks the ties.
    rows = []
    for i in range(26):
        rows += make(5, start=NOON - timedelta(minutes=i), step=timedelta(0))
    newest = sorted(rows, key=lambda r: (r.created_at, r.pk), reverse=True)
    assert walk(owner_client, {}) == [str(r.pk) for r in newest]
    assert walk(owner_client, {"order": "oldest"}) == [str(r.pk) for r in reversed(newest)]


def test_pages_stay_put_while_new_videos_arrive(make, owner_client):
    make(gallery.PAGE_SIZE * 2, start=NOON)
    first = owner_client.get(reverse("gallery"), **EN)
    make(10, start=NOON + timedelta(hours=1))  # made while someone scrolls
    second = owner_client.get(next_link(first), **EN)
    expected = Generation.objects.filter(created_at__lte=NOON).order_by("-created_at", "-id")
    assert ids(first) + ids(second) == [str(pk) for pk in expected.values_list("pk", flat=True)]
    assert next_link(second) is None


def test_next_link_only_when_more_rows_exist(make, owner_client):
    make(gallery.PAGE_SIZE)
    response = owner_client.get(reverse("gallery"), **EN)
    assert len(ids(response)) == gallery.PAGE_SIZE
    assert next_link(response) is None
    assert 'id="gallery-more"' not in response.content.decode()
    make(1, start=NOON - timedelta(days=1))
    response = owner_client.get(reverse("gallery"), **EN)
    assert next_link(response) is not None
    assert 'hx-trigger="revealed"' in response.content.decode()


def test_next_link_keeps_the_filters(make, owner_client):
    make(gallery.PAGE_SIZE + 1, aspect_ratio="16:9")
    response = owner_client.get(reverse("gallery"), {"aspect_ratio": "16:9", "q": "boat"}, **EN)
    link = next_link(response)
    assert "aspect_ratio=16%3A9" in link and "q=boat" in link and "after=" in link


def test_load_more_answers_tiles_without_repeating_the_days_heading(make, owner_client):
    # Two full pages on one day, then a new day.
    make(gallery.PAGE_SIZE + 10, start=NOON, step=timedelta(seconds=30))
    make(5, start=NOON - timedelta(days=2))
    first = owner_client.get(reverse("gallery"), **EN)
    assert DAY.findall(first.content.decode()) == ["2026-11-20"]
    more = owner_client.get(next_link(first), **HTMX)
    fragment = more.content.decode()
    assert "<html" not in fragment and "gallery-filters" not in fragment
    assert DAY.findall(fragment) == ["2026-11-18"]
    assert len(ids(more)) == 15
    # Opened as its own page (no JavaScript), the page names its first day.
    plain = owner_client.get(next_link(first), **EN)
    assert DAY.findall(plain.content.decode()) == ["2026-11-20", "2026-11-18"]


def test_first_and_deep_pages_cost_the_same_few_queries(make, owner_client, owner, team):
    make(gallery.PAGE_SIZE * 6, step=timedelta(seconds=7))
    Favourite.objects.create(user=owner, generation=Generation.objects.first())
    url = reverse("gallery")

    def cost(link):
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(link, **EN)
        assert len(ids(response)) == gallery.PAGE_SIZE
        return len(queries), next_link(response)

    first, link = cost(url)
    for _ in range(4):
        deep, link = cost(link)
    assert deep == first
    assert first <= 6


# --- seed_gallery -------------------------------------------------------------------------------


def test_seed_gallery_adds_realistic_ready_videos_sharing_real_media(
    owner, team, media_root, owner_client
):
    import av
    from django.core.management import call_command

    call_command("seed_gallery", user="owner", count=240, seed=7, stdout=io.StringIO())
    rows = Generation.objects.filter(team=team)
    assert rows.count() == 240
    assert set(rows.values_list("status", flat=True)) == {Status.READY}
    assert set(rows.values_list("aspect_ratio", flat=True)) == {"1:1", "16:9", "9:16"}
    assert set(rows.values_list("duration", flat=True)) == {5, 10}
    assert set(rows.values_list("sound", flat=True)) == {True, False}
    prompts = list(rows.values_list("prompt", flat=True))
    assert len(set(prompts)) > 100
    assert any("mèo" in p or "thuyền" in p for p in prompts)
    assert any(p.startswith("A ") or p.startswith("An ") for p in prompts)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in rows.values_list("placeholder", flat=True))
    assert len(set(rows.values_list("placeholder", flat=True))) > 100
    days = {timezone.localdate(c) for c in rows.values_list("created_at", flat=True)}
    assert len(days) > 30
    # One real video per aspect ratio, stored once and shared.
    assert rows.values("video").distinct().count() == 3
    wide = rows.filter(aspect_ratio="16:9").first()
    for field in ("video", "poster", "poster_small", "preview"):
        assert (media_root / getattr(wide, field).name).is_file(), field
    assert hashlib.sha256(wide.video.read()).hexdigest() == wide.video_sha256
    with av.open(str(media_root / wide.preview.name)) as clip:
        assert not clip.streams.audio
        assert clip.streams.video[0].codec_context.width <= 360
        assert 2 <= clip.duration / av.time_base <= 3
    assert wide.preview.size < wide.video.size
    # The gallery shows them, a full page with a next link.
    response = owner_client.get(reverse("gallery"), **EN)
    assert len(ids(response)) == gallery.PAGE_SIZE and next_link(response)

    # A second run adds as many again and reuses the stored media.
    stored = sorted(p.name for p in media_root.rglob("*") if p.is_file())
    call_command("seed_gallery", user="owner", count=10, stdout=io.StringIO())
    assert rows.count() == 250
    assert sorted(p.name for p in media_root.rglob("*") if p.is_file()) == stored


@pytest.mark.s3
def test_seed_gallery_stores_its_media_once_on_s3(owner, team, settings, s3_bucket):
    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    call_command("seed_gallery", user="owner", count=20, stdout=io.StringIO())
    call_command("seed_gallery", user="owner", count=5, stdout=io.StringIO())

    listed = s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)
    keys = {item["Key"] for item in listed["Contents"]}
    assert len(keys) == 12  # video, poster, small poster, preview for each aspect ratio
    assert all(key.startswith(f"teams/{team.pk}/seed/") for key in keys)
    rows = Generation.objects.filter(team=team)
    assert rows.count() == 25
    for row in rows:
        assert set(row.stored_files()) <= keys


def test_purging_a_deleted_seeded_video_keeps_the_media_the_others_share(
    owner, team, media_root, settings
):
    from django.core.management import call_command

    from generations import actions

    call_command("seed_gallery", user="owner", count=30, seed=3, stdout=io.StringIO())
    gone = Generation.objects.filter(team=team).first()
    long_ago = timezone.now() - settings.DELETE_GRACE - timedelta(hours=1)
    Generation.objects.filter(pk=gone.pk).update(deleted_at=long_ago, deleted_by=owner)
    assert actions.purge_deleted() == 1
    for other in Generation.objects.filter(team=team, deleted_at__isnull=True):
        assert all((media_root / key).is_file() for key in other.stored_files())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--count", "5"], "No user named 'nobody'"),
        (["--user", "owner", "--count", "0"], "--count must be between"),
        (["--user", "owner", "--count", "5", "--days", "0"], "--days must be between"),
    ],
)
def test_seed_gallery_refuses_bad_arguments(owner, media_root, args, message):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=message):
        call_command("seed_gallery", *args)
    assert not Generation.objects.exists()
