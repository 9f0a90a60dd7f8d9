"""Pointed at another server that follows the contract, the app works unchanged.

Here that server is the sandbox reached as a stranger would: an ordinary account with its
own issued key, and ``RIVYA_API_BASE`` set to its address. ``RIVYA_SANDBOX`` stays on only
because the sandbox is mounted in that mode alone; the built-in account is never used.
"""

import hashlib

import pytest

from generations import tasks
from generations.models import Status
from sandbox import conf as sandbox_conf
from sandbox import models as sandbox_models
from tests.fixtures import image_bytes, run_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]


@pytest.fixture
def foreign_account(settings):
    account = sandbox_models.Account.objects.create(name="elsewhere", balance=500)
    _, raw_key = sandbox_models.ApiKey.issue(account)
    settings.RIVYA_API_KEY = raw_key
    return account


def test_the_app_works_unchanged_against_another_contract_server(
    foreign_account, add_generation, media_root
):
    generation = add_generation(reference=image_bytes(), aspect_ratio="1:1", sound=True)
    tasks.submit.enqueue(str(generation.pk))

    generation = run_until(generation, {Status.READY, Status.FAILED, Status.REJECTED})

    assert generation.status == Status.READY, generation.error_message
    remote = sandbox_models.Generation.objects.get()
    assert remote.account_id == foreign_account.pk
    assert not sandbox_models.Account.objects.filter(is_builtin=True).exists()
    assert remote.reference_file is not None
    video = sandbox_conf.data_dir() / "media" / f"{remote.id}.mp4"
    assert generation.video_sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
    foreign_account.refresh_from_db()
    assert foreign_account.balance == 500 - 55
    assert (generation.video_width, generation.video_height) == (720, 720)


def test_a_wallet_too_small_on_the_other_server_rejects_without_charge(
    foreign_account, add_generation
):
    sandbox_models.Account.objects.filter(pk=foreign_account.pk).update(balance=10)
    generation = add_generation()
    tasks.submit.enqueue(str(generation.pk))

    generation = run_until(generation, {Status.READY, Status.FAILED, Status.REJECTED})

    assert generation.status == Status.REJECTED
    assert generation.error_code == "insufficient_credits"
    assert sandbox_models.Generation.objects.count() == 0
    foreign_account.refresh_from_db()
    assert foreign_account.balance == 10
