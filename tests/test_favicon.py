"""The site's icon: /favicon.ico for whoever asks for it, favicon.svg linked from the pages."""

from io import BytesIO

from PIL import Image


def test_favicon_ico_is_a_cacheable_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    cache_control = response["Cache-Control"]
    assert "public" in cache_control
    assert "max-age=604800" in cache_control
    icon = Image.open(BytesIO(response.content))
    assert icon.format == "ICO"
    assert (32, 32) in icon.info["sizes"]


def test_favicon_needs_no_login_and_answers_head(client, db):
    assert client.head("/favicon.ico").status_code == 200


def test_favicon_refuses_other_methods(client, db):
    assert client.post("/favicon.ico").status_code == 405


def test_the_login_page_links_the_svg_icon(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page


def test_the_admin_links_the_svg_icon(client, admin_client):
    for page in (client.get("/admin/login/"), admin_client.get("/admin/")):
        assert page.status_code == 200
        assert 'rel="icon" href="/static/favicon.svg"' in page.content.decode()
