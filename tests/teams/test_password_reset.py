"""Password reset through Django's views and email, end to end, with the mail outbox."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.teams.conftest import EN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

NEW_PASSWORD = "a-kite-above-the-rice-fields-7"
LINK = re.compile(r"https?://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def ask_reset(client, email):
    return client.post(reverse("password_reset"), {"email": email}, **EN)


def test_a_forgotten_password_is_reset_through_the_emailed_link(client, owner, mailoutbox):
    assert client.get(reverse("password_reset"), **EN).status_code == 200
    response = ask_reset(client, owner.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [owner.email]
    assert "Rivyaweb" in message.subject
    assert owner.username in message.body
    link = LINK.search(message.body)
    assert link, message.body

    # The link swaps its token for a session and a link that no longer carries it.
    opened = client.get(link[1], **EN)
    assert opened.status_code == 302
    assert opened["Location"].endswith("/set-password/")
    form = client.get(opened["Location"], **EN)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        opened["Location"],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        **EN,
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    assert client.get(done["Location"], **EN).status_code == 200

    login = Client().post(reverse("login"), {"username": owner.username, "password": NEW_PASSWORD})
    assert login.status_code == 302
    # The link worked once.
    again = client.get(link[1], follow=True, **EN)
    assert not again.context["validlink"]
    assert b"This link no longer works" in again.content


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, owner, mailoutbox):
    response = ask_reset(client, "nobody@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mailoutbox == []


def test_the_new_password_must_pass_the_validators(client, owner, mailoutbox):
    ask_reset(client, owner.email)
    opened = client.get(LINK.search(mailoutbox[0].body)[1])
    response = client.post(
        opened["Location"], {"new_password1": "12345678", "new_password2": "12345678"}, **EN
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    owner.refresh_from_db()
    assert not owner.check_password("12345678")


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/MQ/bad-token/",
        "/accounts/password/reset/%00/x/",
        "/accounts/password/reset/" + "A" * 500 + "/x/",
    ],
)
def test_a_broken_link_says_so(client, owner, path):
    response = client.get(path, **EN)
    assert response.status_code == 200
    assert b"This link no longer works" in response.content


def test_reset_requests_are_counted_per_address(client, owner, settings, mailoutbox):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    assert ask_reset(client, owner.email).status_code == 302
    assert ask_reset(client, owner.email).status_code == 302
    assert ask_reset(client, owner.email).status_code == 429
    assert len(mailoutbox) == 2
