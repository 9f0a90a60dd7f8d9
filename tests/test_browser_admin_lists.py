"""The admin's lists at 1366×900 in real Chromium, with rows of realistic width in each:
nothing scrolls sideways, no column title is cut and axe finds nothing serious, in either
language and theme; the admin's pages meet colour contrast in both themes."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from credits import ledger
from credits.models import BalanceSnapshot, BudgetAlert, BudgetEvent, CreditEntry, Hold
from generations.models import ShareLink, Status
from teams.models import Membership, Team
from tests.browser import assert_no_problems, sign_in
from tests.test_accessibility import BLOCKING, axe_source, readable, violations_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTS = [
    "/admin/generations/generation/",
    "/admin/credits/creditentry/",
    "/admin/credits/hold/",
    "/admin/credits/balancesnapshot/",
    "/admin/credits/budgetevent/",
    "/admin/credits/budgetalert/",
    "/admin/teams/team/",
    "/admin/teams/membership/",
    "/admin/generations/sharelink/",
    "/admin/auth/user/",
]

# The page's width against the window, and every list and column title against its box.
MEASURE = """() => {
  const cut = [];
  for (const box of document.querySelectorAll('#changelist .results, #result_list th')) {
    if (box.scrollWidth > box.clientWidth + 1) {
      cut.push(box.id || box.className || box.textContent.trim());
    }
  }
  return {page: document.documentElement.scrollWidth, window: innerWidth, cut: cut};
}"""


# axe's colour-contrast rule alone: the admin's other findings are Django's own markup.
CONTRAST = """async () => {
  const result = await axe.run(document, {runOnly: {type: "rule", values: ["color-contrast"]}});
  return result.violations.flatMap((v) => v.nodes.map((n) => n.target.join(" ")));
}"""


@pytest.fixture
def rows(django_user_model, add_ready_video, add_generation, owner, team):
    """One or more rows in every list, with long names and the longest usual values."""
    member = django_user_model.objects.create_user(
        "nguyen.thi.minh.chau.production", "chau@example.com", "pw-member-1234"
    )
    studio = Team.start(name="Nhóm sản xuất quảng cáo mùa hè 2026 (Hà Nội)", owner=member)
    Membership.objects.create(team=studio, user=owner, role=Membership.Role.ADMIN)
    ready = add_ready_video(
        team=studio,
        user=member,
        duration=10,
        sound=True,
        aspect_ratio="16:9",
        rivya_task_id="task_01JDZ8Q4W6Y3K5N7P9R2T4V6X8",
        prompt="Một con diều đỏ bay trên ruộng lúa lúc bình minh, máy quay lia chậm " * 3,
    )
    ledger.record(ready, CreditEntry.Kind.RESERVE, -110)
    ledger.record(ready, CreditEntry.Kind.SETTLE, 0, note="Rivya settled what it reserved")
    stuck = add_generation(
        team=studio,
        user=member,
        status=Status.ATTENTION,
        error_code="create_unconfirmed",
        create_attempts=137,
        first_create_at=timezone.now() - timedelta(days=1),
        reserved_credits=110,
    )
    Hold.objects.create(generation=stuck, team=studio, user=member, credits=110)
    BalanceSnapshot.objects.create(credits=1_234_567, ledger_total=-1_234_567, ledger_last_id=99)
    month = date.today().replace(day=1)
    BudgetEvent.objects.create(
        team=studio,
        kind=BudgetEvent.Kind.MEMBER_CAP,
        member=member,
        old_value=1_000_000,
        new_value=2_500_000,
        month=month,
        changed_by=owner,
    )
    BudgetAlert.objects.create(
        team=studio, member=member, month=month, threshold=90, spent=2_250_000, limit=2_500_000
    )
    ShareLink.make(generation=ready, by=member, days=30, show_prompt=True)
    return studio


@pytest.mark.parametrize(("language", "theme"), [("en", "light"), ("vi", "dark")])
def test_every_admin_list_fits_1366_pixels(
    watched, live_server, django_user_model, rows, shots, language, theme
):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    page = watched
    page.emulate_media(color_scheme=theme)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "root", "pw-admin-1234", language=language, next="/admin/")
    problems, found = {}, {}
    for url in LISTS:
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        assert page.locator("#result_list tbody tr").count() >= 1, url
        name = url.strip("/").replace("/", "-")
        page.screenshot(path=shots / f"{name}-{language}-{theme}.png", full_page=True)
        measured = page.evaluate(MEASURE)
        if measured["page"] > measured["window"] or measured["cut"]:
            problems[url] = measured
        found[url] = [v for v in violations_on(page) if v["impact"] in BLOCKING]
    assert problems == {}
    found = {url: violations for url, violations in found.items() if violations}
    assert not found, "axe found:\n" + readable(found)
    assert_no_problems(page)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_admin_pages_meet_colour_contrast(watched, live_server, django_user_model, rows, theme):
    from generations.models import Generation

    django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    video = Generation.objects.get(status=Status.READY)
    page = watched
    page.emulate_media(color_scheme=theme)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "root", "pw-admin-1234", next="/admin/")
    found = {}
    for url in (
        "/admin/",
        f"/admin/generations/generation/{video.pk}/change/",
        f"/admin/teams/team/{rows.pk}/change/",
        "/admin/credits/creditentry/add/",
        "/admin/credits/dashboard/",
    ):
        page.goto(live_server.url + url)
        page.evaluate(axe_source() + "\n;undefined")
        found[url] = page.evaluate(CONTRAST)
    found = {url: nodes for url, nodes in found.items() if nodes}
    assert not found, found
    assert_no_problems(page)


ADMIN_FORMS = [
    "/admin/",
    "/admin/generations/generation/{video}/change/",
    "/admin/teams/team/{team}/change/",
    "/admin/teams/team/add/",
    "/admin/credits/creditentry/add/",
    "/admin/credits/dashboard/",
    "/admin/credits/reconciliation/",
    "/admin/auth/user/add/",
    "/admin/auth/group/add/",
]


def test_admin_forms_name_every_control(watched, live_server, django_user_model, rows, shots):
    """axe finds nothing serious or critical on the admin's forms: every field of a tabular
    inline is named by its column and row, and the autocomplete boxes by their label."""
    from playwright.sync_api import expect

    from generations.models import Generation

    django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    video = Generation.objects.get(status=Status.READY)
    page = watched
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server.url, "root", "pw-admin-1234", language="en", next="/admin/")
    found = {}
    for url in ADMIN_FORMS:
        url = url.format(video=video.pk, team=rows.pk)
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        found[url] = [v for v in violations_on(page) if v["impact"] in BLOCKING]
        if url.endswith(f"/team/{rows.pk}/change/"):
            page.screenshot(path=shots / "admin-team-change.png", full_page=True)
            member = "nguyen.thi.minh.chau.production"
            role = page.get_by_role("combobox", name=f"Role, {member} @ {rows.name} (owner)")
            expect(role).to_have_value("owner")
            expect(page.get_by_role("combobox", name=re.compile(r"^User,? .*"))).to_have_count(2)
        if url.endswith("/creditentry/add/"):
            expect(page.get_by_role("combobox", name=re.compile(r"^Team"))).to_be_visible()
    found = {url: violations for url, violations in found.items() if violations}
    assert not found, "axe found:\n" + readable(found)
    assert_no_problems(page)
