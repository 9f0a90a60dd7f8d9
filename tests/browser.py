"""Shared pieces of the browser tests (real Chromium through Playwright).

- ``watched``: the page, with its console errors and warnings, page errors and CSP violations
  collected in ``page.problems``; ``assert_no_problems(page)`` checks them. ``watch(page)``
  does the same for a page the test opens itself.
- ``sign_in(page, base_url, username, password)``: logs in through the login form.
- ``shots``: where screenshots go (``SCREENSHOT_DIR`` when set, to look at them).
- ``background``: a real worker and the poller running as ``manage.py serve`` runs them.
"""

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

# Installed before any page script: every CSP violation, whatever its source.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  var target = event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 160) : "";
  window.__cspViolations.push([
    event.violatedDirective, event.blockedURI, event.sourceFile, event.lineNumber, target,
  ].join(" "));
});
"""


@pytest.fixture
def watched(page):
    """The page, with its console errors, page errors and CSP violations collected."""
    return watch(page)


def watch(page):
    """Collect ``page``'s console errors, page errors and CSP violations in ``page.problems``
    (for a page of a context of the test's own, such as a signed-out visitor's)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in {"error", "warning"} or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(WATCH_CSP)
    page.problems = problems
    return page


def assert_no_problems(page) -> None:
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    assert page.problems == [], page.problems


def sign_in(
    page, base_url: str, username: str, password: str, *, language: str = "en", next: str = ""
) -> None:
    """Log in through the login form; the page then shows ``next`` (else the home page)."""
    page.set_extra_http_headers({"Accept-Language": language})
    query = f"?next={next}" if next else ""
    page.goto(f"{base_url}{reverse('login')}{query}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base_url + (next or "/")) + r"$"))


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: SCREENSHOT_DIR when set (to look at them), else a temporary dir."""
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def background(sandbox, settings) -> Iterator[None]:
    """A worker and the poller running as ``serve`` runs them, until the test ends."""
    from generations import catalog, poller
    from tests.fixtures import drain

    settings.SANDBOX_QUEUED_SECONDS = 0.5
    settings.SANDBOX_PROCESSING_SECONDS = 0.5
    # The price list, fetched from the sandbox as a running server has long done.
    catalog.refresh_catalog.call()
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.is_set():
                drain()
                poller.poll_due()
                stop.wait(0.3)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, name="background-work", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the background thread did not stop"
    assert not errors, errors


@pytest.fixture
def studio_pages(owner, team, add_generation, add_ready_video, django_user_model) -> dict:
    """The signed-in pages worth checking at every size and theme, with cards in several
    states, a second member on the team and a share link; the owner is a superuser, so the
    admin's credit dashboard is among them. Returns page name → path."""
    from generations.models import ShareLink, Status
    from teams.models import Membership

    owner.is_staff = owner.is_superuser = True
    owner.save()
    ready = add_ready_video(
        prompt="Một chiếc thuyền giấy trôi trên phố mưa, ánh đèn vàng phản chiếu mặt nước",
        aspect_ratio="16:9",
        video_width=1280,
        video_height=720,
    )
    add_ready_video(prompt="A tall lighthouse at night", aspect_ratio="9:16")
    add_generation(status=Status.PROCESSING, prompt="A kite over rice fields at dawn")
    add_generation(status=Status.PENDING, prompt="A lighthouse in the fog", aspect_ratio="9:16")
    add_generation(status=Status.FAILED, prompt="A cat asleep on a piano", error_code="x")
    colleague = django_user_model.objects.create_user("colleague", "colleague@example.com", "pw")
    Membership.objects.create(team=team, user=colleague, role="member")
    _, token = ShareLink.make(generation=ready, by=owner, days=7, show_prompt=True)
    return {
        "home": reverse("home"),
        "gallery": reverse("gallery"),
        "detail": reverse("generation_detail", args=[ready.pk]),
        "team": reverse("team_detail", args=[team.pk]),
        "share": reverse("shared_page", args=[token]),
        "password": reverse("password_change"),
        "dashboard": "/admin/credits/dashboard/",
    }
