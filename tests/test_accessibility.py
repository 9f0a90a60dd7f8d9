"""axe-core, run in real Chromium on every main page, in both themes and both languages.

axe-core comes from the npm registry (``package.json``; ``npm ci`` puts it in
``node_modules``) and is evaluated by Playwright in the page under test, never served by
the app. A page passes with no violation of impact "serious" or "critical".
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.browser import assert_no_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
# WCAG 2.x A and AA, plus axe's best practices (landmarks, heading order, skip link...).
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + "  " + n.failureSummary),
  }));
}"""


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in the project directory")
    return AXE.read_text()


def violations_on(page) -> list[dict]:
    # The page's CSP (rightly) refuses an injected <script> tag (page.add_script_tag), so
    # the source is evaluated through the DevTools protocol instead, which CSP does not govern.
    page.evaluate(axe_source() + "\n;undefined")
    return page.evaluate(RUN_AXE, RULE_TAGS)


def readable(found: dict[str, list[dict]]) -> str:
    lines = []
    for name, violations in found.items():
        for v in violations:
            lines.append(f"{name}: [{v['impact']}] {v['id']}: {v['help']}")
            lines.extend(f"    {node}" for node in v["nodes"])
    return "\n".join(lines)


THEMES = ("light", "dark")
# Waits for the colour transitions a theme switch starts (the admin eases its links' colours):
# axe must see the theme's colours, not a blend halfway between the two.
SETTLED = """async () => {
  const running = document.getAnimations().filter((a) => a instanceof CSSTransition);
  await Promise.all(running.map((a) => a.finished.catch(() => null)));
}"""


def check_both_themes(page, name: str, found: dict, shots: Path | None = None, language="") -> None:
    """Run axe on the loaded page once per theme.

    The person's theme is Auto, so the page follows ``prefers-color-scheme``: switching the
    emulated scheme recolours the same page (every colour is a ``light-dark()`` pair) without
    loading it again, and axe computes contrast from the colours it sees at that moment.
    """
    backgrounds = set()
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        page.evaluate(SETTLED)
        backgrounds.add(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))
        found[f"{name} ({theme})"] = violations_on(page)
        if shots is not None:
            page.screenshot(path=shots / f"axe-{name}-{theme}-{language}.png", full_page=True)
    assert len(backgrounds) == len(THEMES), f"{name} did not change theme: {backgrounds}"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_no_serious_or_critical_violations(
    watched, live_server, owner, password, studio_pages, language, shots
):
    page = watched
    page.set_viewport_size({"width": 1280, "height": 900})
    found: dict[str, list[dict]] = {}

    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"{live_server.url}{reverse('login')}")
    check_both_themes(page, "login", found)
    sign_in(page, live_server.url, owner.get_username(), password, language=language)
    for name, path in studio_pages.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        check_both_themes(page, name, found, shots, language)

    assert len(found) == 2 * (1 + len(studio_pages))
    blocking = {
        name: [v for v in violations if v["impact"] in BLOCKING]
        for name, violations in found.items()
    }
    blocking = {name: violations for name, violations in blocking.items() if violations}
    assert not blocking, "axe found:\n" + readable(blocking)
    assert_no_problems(page)


def test_axe_reports_a_violation_it_is_shown(watched, live_server):
    """The check can fail: an unlabelled field added to the login page is reported."""
    page = watched
    page.goto(f"{live_server.url}{reverse('login')}")
    page.evaluate(
        "() => { const i = document.createElement('input'); i.type = 'text';"
        " document.querySelector('main').append(i); }"
    )
    ids = {v["id"] for v in violations_on(page) if v["impact"] in BLOCKING}
    assert "label" in ids
