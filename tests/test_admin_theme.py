"""The admin in the app's palette and theme: the person's stored choice on <html>, our theme
switch in its header instead of its own browser-only toggle."""

from pathlib import Path

import django
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from teams.models import ThemeChoice

pytestmark = pytest.mark.django_db

OUR_BASE = Path(settings.BASE_DIR) / "templates" / "admin" / "base.html"
DJANGO_BASE = (
    Path(django.__file__).parent / "contrib" / "admin" / "templates" / "admin" / "base.html"
)


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")


def html_tag(response) -> str:
    body = response.content.decode()
    start = body.index("<html")
    return body[start : body.index(">", start) + 1]


def test_our_admin_base_is_djangos_with_the_theme_on_html():
    ours = OUR_BASE.read_text().splitlines()
    theirs = DJANGO_BASE.read_text().splitlines()
    assert len(ours) == len(theirs), "Django's admin/base.html changed: copy it again"
    changed = [(mine, its) for mine, its in zip(ours, theirs, strict=True) if mine != its]
    assert changed == [
        (theirs[0].replace(" tz %}", " tz teams %}"), theirs[0]),
        (theirs[2].replace('">', '"{% theme_attribute %}>'), theirs[2]),
    ]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_admin_is_drawn_in_the_stored_theme(client, root, theme):
    ThemeChoice.objects.create(user=root, theme=theme)
    client.force_login(root)
    for url in ("/admin/", "/admin/generations/generation/", "/admin/credits/creditentry/"):
        response = client.get(url)
        assert response.status_code == 200
        assert html_tag(response).endswith(f' data-theme="{theme}">')


def test_auto_leaves_the_admin_to_the_browser(client, root):
    client.force_login(root)
    assert "data-theme" not in html_tag(client.get("/admin/"))


def test_the_admin_uses_our_palette_and_switch_not_its_own_toggle(client, root):
    client.force_login(root)
    body = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "css/palette.css" in body
    assert "css/admin-theme.css" in body
    assert "admin/js/theme.js" not in body  # it would keep a second choice in the browser
    assert 'class="theme-toggle"' not in body
    assert f'action="{reverse("theme_set")}"' in body
    assert 'value="auto" aria-pressed="true"' in body


def test_a_choice_made_in_the_admin_is_the_apps(root):
    client = Client()
    client.force_login(root)
    response = client.post(reverse("theme_set"), {"theme": "dark", "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert html_tag(client.get("/admin/")).endswith(' data-theme="dark">')
    assert html_tag(client.get(reverse("gallery"))).endswith(' data-theme="dark">')


def test_the_admin_login_page_follows_the_cookie(client):
    client.post(reverse("theme_set"), {"theme": "light"})
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert html_tag(response).endswith(' data-theme="light">')
    assert f'action="{reverse("theme_set")}"' in response.content.decode()
