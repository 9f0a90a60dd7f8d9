import pytest
from django.urls import reverse

from sandbox.models import Account, Generation, SandboxConfig

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(django_user_model, password):
    """A superuser: the control page's knobs act on every process, so staff is not enough."""
    return django_user_model.objects.create_superuser("staff", "s@example.com", password)


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("sandbox:control"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_non_staff_is_forbidden(client, owner):
    client.force_login(owner)
    assert client.get(reverse("sandbox:control")).status_code == 403


def test_staff_who_is_not_a_superuser_is_forbidden(client, django_user_model, password):
    helper = django_user_model.objects.create_user("helper", "h@example.com", password)
    helper.is_staff = True
    helper.save()
    client.force_login(helper)
    assert client.get(reverse("sandbox:control")).status_code == 403
    topup = {"form": "topup", "credits": "9"}
    assert client.post(reverse("sandbox:control"), topup).status_code == 403


def test_staff_changes_knobs(client, staff):
    client.force_login(staff)
    assert client.get(reverse("sandbox:control")).status_code == 200
    data = {**SandboxConfig.defaults(), "form": "config", "error_rate": "0.25"}
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post(reverse("sandbox:control"), data)
    assert response.status_code == 302
    assert SandboxConfig.load().error_rate == 0.25
    bad = client.post(reverse("sandbox:control"), {**data, "drop_rate": "2"})
    assert bad.status_code == 200
    assert SandboxConfig.load().drop_rate == 0


def test_staff_tops_up_and_controls_tasks(client, staff, api):
    client.force_login(staff)
    client.post(reverse("sandbox:control"), {"form": "topup", "credits": "500"})
    assert api.get("/credits").json()["current_credits"] == 10_500
    task = api.post("/generations", json={"model": "z-image", "prompt": "a cat"}).json()
    client.post(
        reverse("sandbox:control"), {"form": "task", "task_id": task["id"], "action": "fail"}
    )
    assert api.get(f"/generations/{task['id']}").json()["status"] == "failed"
    assert api.get("/credits").json()["current_credits"] == 10_500
    task = api.post("/generations", json={"model": "z-image", "prompt": "a dog"}).json()
    client.post(
        reverse("sandbox:control"), {"form": "task", "task_id": task["id"], "action": "pause"}
    )
    assert Generation.objects.get(pk=task["id"]).paused
    client.post(
        reverse("sandbox:control"),
        {"form": "task", "task_id": task["id"], "action": "fast_forward"},
    )
    assert api.get(f"/generations/{task['id']}").json()["status"] == "succeeded"
    assert Account.objects.get(is_builtin=True).balance == 10_500 - 1


def test_staff_sets_the_create_and_media_knobs(client, staff):
    client.force_login(staff)
    page = client.get(reverse("sandbox:control"), headers={"accept-language": "en"})
    for name in (
        "create_delay_seconds",
        "lose_first_answers",
        "media_host",
        "media_url_ttl_seconds",
    ):
        assert f'name="{name}"' in page.content.decode()
    data = {k: v for k, v in SandboxConfig.defaults().items() if v is not False}
    data |= {"form": "config", "create_delay_seconds": "1.5", "lose_first_answers": "2"}
    data |= {"media_host": "cdn.example:8443", "media_url_ttl_seconds": "60"}
    assert client.post(reverse("sandbox:control"), data).status_code == 302
    config = SandboxConfig.load()
    assert (config.create_delay_seconds, config.lose_first_answers) == (1.5, 2)
    assert (config.media_host, config.media_url_ttl_seconds) == ("cdn.example:8443", 60)
    for bad in (
        {"media_host": "https://cdn.example"},
        {"media_host": "cdn.example/videos"},
        {"media_host": "user@cdn.example"},
        {"media_url_ttl_seconds": "0"},
        {"create_delay_seconds": "-1"},
        {"lose_first_answers": "-1"},
    ):
        assert client.post(reverse("sandbox:control"), {**data, **bad}).status_code == 200, bad
    assert SandboxConfig.load().media_host == "cdn.example:8443"
