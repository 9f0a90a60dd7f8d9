"""The theme choice: Auto by default, Light or Dark chosen in the header, stored on the
person when signed in (every browser), in a cookie when not, drawn by the server on <html>."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generations.models import ShareLink
from teams.models import ThemeChoice
from tests.teams.conftest import EN, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

JSON = {"HTTP_ACCEPT": "application/json"}


def choose(client, theme, next_url="/", **headers):
    return client.post(reverse("theme_set"), {"theme": theme, "next": next_url}, **headers)


def html_tag(response) -> str:
    body = response.content.decode()
    start = body.index("<html")
    return body[start : body.index(">", start) + 1]


def test_auto_by_default_leaves_the_choice_to_the_browser(owner_client, team):
    response = owner_client.get(reverse("home"), **EN)
    assert "data-theme" not in html_tag(response)
    body = response.content.decode()
    assert 'value="auto" aria-pressed="true"' in body
    assert 'value="dark" aria-pressed="false"' in body


def test_a_signed_in_choice_is_stored_and_follows_to_another_browser(owner, team):
    first = client_for(owner)
    response = choose(first, "dark", reverse("gallery"))
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery")
    assert ThemeChoice.objects.get(user=owner).theme == "dark"
    other_browser = client_for(owner)
    page = other_browser.get(reverse("home"), **EN)
    assert html_tag(page).endswith(' data-theme="dark">')
    assert 'value="dark" aria-pressed="true"' in page.content.decode()


def test_choosing_again_replaces_the_choice_and_auto_removes_the_attribute(owner_client, team):
    choose(owner_client, "light")
    choose(owner_client, "auto")
    assert ThemeChoice.objects.get().theme == "auto"
    assert "data-theme" not in html_tag(owner_client.get(reverse("home")))


def test_the_stored_choice_wins_over_the_cookie_of_another_person(owner, member, team):
    ThemeChoice.objects.create(user=owner, theme="light")
    browser = Client()
    choose(browser, "dark")  # signed out: the cookie only
    browser.force_login(owner)
    assert html_tag(browser.get(reverse("home"))).endswith(' data-theme="light">')


def test_signed_out_pages_keep_the_choice_in_a_cookie(client):
    response = choose(client, "light", reverse("login"))
    assert response.status_code == 302
    assert ThemeChoice.objects.count() == 0
    cookie = response.cookies["theme"]
    assert cookie.value == "light"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert html_tag(client.get(reverse("login"), **EN)).endswith(' data-theme="light">')


def test_a_choice_made_before_signing_in_becomes_the_persons_own(client, owner, password):
    choose(client, "dark", reverse("login"))
    client.post(reverse("login"), {"username": owner.get_username(), "password": password})
    assert ThemeChoice.objects.get(user=owner).theme == "dark"
    other_browser = client_for(owner)
    assert html_tag(other_browser.get(reverse("home"))).endswith(' data-theme="dark">')


def test_signing_in_does_not_overwrite_a_stored_choice(client, owner, password):
    ThemeChoice.objects.create(user=owner, theme="light")
    choose(client, "dark", reverse("login"))
    client.post(reverse("login"), {"username": owner.get_username(), "password": password})
    assert ThemeChoice.objects.get(user=owner).theme == "light"
    assert html_tag(client.get(reverse("home"))).endswith(' data-theme="light">')


def test_signing_out_keeps_the_look_on_the_login_page(owner_client, team):
    choose(owner_client, "dark")
    owner_client.post(reverse("logout"))
    assert html_tag(owner_client.get(reverse("login"))).endswith(' data-theme="dark">')


def test_the_share_page_follows_the_cookie(client, add_ready_video, owner):
    generation = add_ready_video()
    _, token = ShareLink.make(generation=generation, by=owner, days=7, show_prompt=True)
    choose(client, "dark")
    response = client.get(reverse("shared_page", args=[token]))
    assert response.status_code == 200
    assert html_tag(response).endswith(' data-theme="dark">')


def test_the_page_script_gets_json_and_no_redirect(owner_client, team):
    response = choose(owner_client, "light", **JSON)
    assert response.status_code == 200
    assert response.json() == {"theme": "light"}
    assert ThemeChoice.objects.get().theme == "light"


@pytest.mark.parametrize("value", ["", "blue", "auto ", "LIGHT", "x" * 500])
def test_an_unknown_theme_is_refused_and_nothing_changes(owner_client, team, value):
    response = choose(owner_client, value)
    assert response.status_code == 400
    assert ThemeChoice.objects.count() == 0
    assert "theme" not in response.cookies


def test_a_forged_cookie_value_is_ignored(client):
    client.cookies["theme"] = '"><script>'
    assert "data-theme" not in html_tag(client.get(reverse("login")))


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", ""])
def test_it_goes_back_only_to_our_own_pages(client, next_url):
    assert choose(client, "dark", next_url)["Location"] == reverse("home")


def test_only_a_post_with_the_csrf_token_changes_it(owner):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.get(reverse("theme_set")).status_code == 405
    assert choose(strict, "dark").status_code == 403
    assert ThemeChoice.objects.count() == 0


def test_the_switch_is_labelled_in_both_languages(owner_client, team):
    english = owner_client.get(reverse("home"), **EN).content.decode()
    assert 'aria-label="Theme"' in english
    assert "Dark theme" in english
    vietnamese = owner_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert 'aria-label="Theme"' not in vietnamese
    assert "Dark theme" not in vietnamese


def theme_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"), **EN)
    assert 'data-theme="dark"' in html_tag(response)
    return sum("themechoice" in query["sql"].lower() for query in queries.captured_queries)


def test_the_stored_choice_is_read_once_per_session(owner, team):
    ThemeChoice.objects.create(user=owner, theme="dark")
    signed_in = client_for(owner)  # signing in copies the choice into the session
    assert [theme_queries(signed_in) for _ in range(3)] == [0, 0, 0]
    # A session from before the choice was kept in it reads it once, then keeps it.
    session = signed_in.session
    del session["theme"]
    session.save()
    assert [theme_queries(signed_in) for _ in range(3)] == [1, 0, 0]
