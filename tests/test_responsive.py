"""Phones and tablets in real Chromium: no page scrolls sideways, the top bar is one line
(the brand and a menu button), touch targets are at least 44×44 CSS pixels, the menu opens
and closes with mouse and keyboard, and the gallery is usable with the arrow keys."""

import re

import pytest
from django.urls import reverse

from tests.browser import assert_no_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1366, "height": 900}
TOUCH = 44

# What a finger must hit in the top bar and the main content: buttons, fields, choices
# (through their label) and links standing on their own. A link inside running text is
# exempt, as WCAG exempts inline targets.
SMALL_TARGETS = """(touch) => {
  const small = [];
  const visible = (r) => r.width > 2 && r.height > 2;
  const selector = "main a[href], main button, main select, main summary, main textarea, "
    + "main input:not([type=hidden]), .topbar > a, .topbar > button";
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    let target = el;
    if (el.labels && el.labels.length && el.matches("[type=checkbox], [type=radio]")) {
      target = el.labels[0];
    }
    if (el.tagName === "A") {
      const block = el.parentElement;
      const rest = block.textContent.replace(el.textContent, "").replace(/[\\s·|]/g, "");
      if (rest.length > 0) continue;
    }
    const r = target.getBoundingClientRect();
    if (!visible(r)) continue;
    if (r.width < touch - 0.5 || r.height < touch - 0.5) {
      const name = (el.textContent || el.getAttribute("aria-label") || el.name || "").trim();
      small.push(`${el.tagName.toLowerCase()}${el.className ? "." + el.className : ""} `
        + `"${name.slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return small;
}"""

TOP_BAR = """() => {
  const bar = document.querySelector(".topbar");
  const brand = bar.querySelector(".brand").getBoundingClientRect();
  const button = bar.querySelector(".menu-toggle").getBoundingClientRect();
  return {
    height: bar.getBoundingClientRect().height,
    brand: brand.top + brand.height / 2,
    button: button.top + button.height / 2,
    buttonShown: button.width > 0,
  };
}"""


def check_page(page, name: str) -> list[str]:
    """What is wrong with the page at the current size, as readable lines."""
    wrong = []
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        wrong.append(f"{name}: scrolls sideways ({width[0]} > {width[1]})")
    if page.locator(".topbar").count():
        bar = page.evaluate(TOP_BAR)
        if not bar["buttonShown"]:
            wrong.append(f"{name}: no menu button")
        elif bar["height"] > 64 or abs(bar["brand"] - bar["button"]) > 4:
            wrong.append(f"{name}: the top bar is not one line ({bar})")
    wrong.extend(f"{name}: small target {t}" for t in page.evaluate(SMALL_TARGETS, TOUCH))
    widths = page.locator("main video").evaluate_all(
        "(videos) => videos.map((v) => v.getBoundingClientRect().width)"
    )
    wrong.extend(f"{name}: a video only {w:.0f} px wide" for w in widths if w < 200)
    return wrong


@pytest.mark.parametrize("size", [PHONE, TABLET], ids=["phone", "tablet"])
def test_pages_fit_the_screen_with_touch_sized_targets(
    watched, live_server, owner, password, studio_pages, size, shots
):
    page = watched
    page.set_viewport_size(size)
    wrong: list[str] = []
    page.set_extra_http_headers({"Accept-Language": "vi"})
    for name in ("login", "signup", "password_reset"):
        page.goto(f"{live_server.url}{reverse(name)}")
        wrong += check_page(page, name)
    sign_in(page, live_server.url, owner.get_username(), password, language="vi")
    studio_pages.pop("dashboard")  # the admin's own layout
    for name, path in studio_pages.items():
        page.goto(f"{live_server.url}{path}")
        wrong += check_page(page, name)
        page.screenshot(path=shots / f"{name}-{size['width']}.png", full_page=True)
    assert not wrong, "\n".join(wrong)
    assert_no_problems(page)


def test_the_three_aspect_tiles_share_one_row_on_a_phone(watched, live_server, owner, password):
    page = watched
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, owner.get_username(), password)
    tops = page.locator(".shape-choice").evaluate_all(
        "(tiles) => tiles.map((t) => t.getBoundingClientRect().top)"
    )
    assert len(tops) == 3
    assert len(set(tops)) == 1, tops


def test_the_menu_opens_and_closes_with_mouse_and_keyboard(
    watched, live_server, owner, password, team, shots
):
    from playwright.sync_api import expect

    page = watched
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, owner.get_username(), password)
    button = page.locator(".menu-toggle")
    menu = page.locator("#site-menu")
    gallery = menu.get_by_role("link", name="Gallery")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()

    button.click()  # the mouse
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(gallery).to_be_visible()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()
    expect(menu.locator(".team-switcher summary")).to_be_visible()
    expect(menu.locator(".lang-switch button")).to_have_count(2)
    page.screenshot(path=shots / "menu-open-390.png")
    page.mouse.click(200, 800)  # elsewhere
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")

    button.focus()  # the keyboard
    page.keyboard.press("Enter")
    expect(gallery).to_be_visible()
    page.keyboard.press("Tab")
    expect(menu.locator(".team-switcher summary")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(gallery).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/gallery/$"))
    assert_no_problems(page)


def test_the_desktop_keeps_the_nav_inline(watched, live_server, owner, password, team):
    from playwright.sync_api import expect

    page = watched
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, owner.get_username(), password)
    expect(page.locator(".menu-toggle")).to_be_hidden()
    expect(page.locator("#site-menu").get_by_role("link", name="Gallery")).to_be_visible()
    assert page.locator(".topbar").bounding_box()["height"] < 64


# Each filter's label and control boxes, and the favourites checkbox against its label.
FILTER_BOXES = """() => {
  const box = (el) => el.getBoundingClientRect();
  const filters = document.querySelectorAll('.gallery-filter:not(.checkbox-field)');
  const fields = [...filters].map((f) => ({
    label: box(f.querySelector('label')), control: box(f.querySelector('select, input')),
  }));
  const check = document.querySelector('.gallery-filter.checkbox-field');
  return {
    fields: fields.map((f) => ({labelTop: f.label.top, controlBottom: f.control.bottom,
                                controlHeight: f.control.height})),
    tick: box(check.querySelector('input')), text: box(check.querySelector('label')),
  };
}"""


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_gallery_filters_line_up(watched, live_server, owner, password, team, size):
    """Labels of one row share a line whatever their control (a date is as tall as a menu),
    and the favourites checkbox sits beside its words, centred on them."""
    page = watched
    page.set_viewport_size(size)
    sign_in(page, live_server.url, owner.get_username(), password, language="vi")
    page.goto(f"{live_server.url}{reverse('gallery')}")
    boxes = page.evaluate(FILTER_BOXES)
    rows: dict[int, list[dict]] = {}
    for field in boxes["fields"]:
        rows.setdefault(round(field["controlBottom"] / 20), []).append(field)
    assert len(rows) < len(boxes["fields"])  # rows of several filters
    for row in rows.values():
        assert max(f["labelTop"] for f in row) - min(f["labelTop"] for f in row) <= 1, row
        assert len({round(f["controlHeight"]) for f in row}) == 1, row
    tick, text = boxes["tick"], boxes["text"]
    assert tick["right"] <= text["left"], "the checkbox should stand before its words"
    middle = lambda b: b["top"] + b["height"] / 2  # noqa: E731
    assert abs(middle(tick) - middle(text)) <= 3, (tick, text)
    assert_no_problems(page)


def test_on_a_phone_the_new_card_comes_into_view_after_sending(
    watched, live_server, owner, password, team
):
    """Below 820 px the cards sit under the form: after a submit the new card, at most peeking
    in at the bottom, is scrolled into view, and the form says the video was sent with a link
    to the card."""
    from playwright.sync_api import expect

    page = watched
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, owner.get_username(), password)
    page.fill("#id_prompt", "A paper boat drifting down a rainy street in Hoi An")
    page.click("#generation-form button[type=submit]")
    card = page.locator("#cards article.gen-card").first
    expect(card).to_be_visible()
    expect(card).to_be_in_viewport(ratio=0.9)
    note = page.locator("#generation-form .sent-note")
    expect(note).to_contain_text("Rivya is making the video")
    expect(note.get_by_role("link", name="See its card")).to_have_attribute(
        "href", f"#{card.get_attribute('id')}"
    )
    assert_no_problems(page)


def test_the_skip_link_moves_the_focus_to_the_main_content(
    watched, live_server, owner, password, team
):
    from playwright.sync_api import expect

    page = watched
    sign_in(page, live_server.url, owner.get_username(), password)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#id_prompt")).to_be_focused()


def test_the_gallery_moves_between_tiles_with_the_arrow_keys(
    watched, live_server, owner, password, add_ready_video
):
    from playwright.sync_api import expect

    made = [add_ready_video(prompt=f"Tile number {n}") for n in range(6)]
    page = watched
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, owner.get_username(), password, next=reverse("gallery"))
    links = page.locator(".gallery-tile .tile-link")
    expect(links).to_have_count(6)
    links.nth(0).focus()
    page.keyboard.press("ArrowRight")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("End")
    expect(links.nth(5)).to_be_focused()
    page.keyboard.press("Home")
    expect(links.nth(0)).to_be_focused()
    # Down goes to the tile below: the one in the next row nearest in x.
    boxes = [links.nth(i).bounding_box() for i in range(6)]
    below = min(
        (i for i in range(6) if boxes[i]["y"] > boxes[0]["y"] + 10),
        key=lambda i: (boxes[i]["y"], abs(boxes[i]["x"] - boxes[0]["x"])),
    )
    page.keyboard.press("ArrowDown")
    expect(links.nth(below)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    newest_second = sorted(made, key=lambda g: g.created_at, reverse=True)[1]
    page.wait_for_url(re.compile(re.escape(newest_second.get_absolute_url()) + "$"))
    assert_no_problems(page)


def test_without_javascript_the_whole_nav_shows_and_nothing_scrolls_sideways(
    browser, live_server, owner, password, team
):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, owner.get_username(), password)
    assert page.locator(".menu-toggle").is_hidden()
    assert page.locator("#site-menu").get_by_role("link", name="Gallery").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
