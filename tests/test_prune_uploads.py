from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from generations import forms
from tests.fixtures import image_bytes


@pytest.mark.django_db
def test_expired_staged_images_are_pruned_and_fresh_ones_kept(owner, media_root):
    reference = forms.decode_reference(image_bytes(), "kite.png")
    token = forms.stage_reference(reference, owner)
    key = forms.staged_reference_info(token, owner)["k"]

    assert forms.prune_staged_references() == 0
    assert default_storage.exists(key)

    later = timezone.now() + timedelta(seconds=forms.STAGED_MAX_AGE + 60)
    assert forms.prune_staged_references(now=later) == 1
    assert not default_storage.exists(key)


@pytest.mark.django_db
def test_prune_uploads_command_runs_with_nothing_staged(media_root, capsys):
    call_command("prune_uploads")
    assert "Removed 0" in capsys.readouterr().out


@pytest.mark.s3
@pytest.mark.django_db
def test_pruning_works_on_s3(owner, settings, s3_bucket):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    reference = forms.decode_reference(image_bytes(), "kite.png")
    key = forms.staged_reference_info(forms.stage_reference(reference, owner), owner)["k"]

    assert forms.prune_staged_references() == 0
    later = timezone.now() + timedelta(seconds=forms.STAGED_MAX_AGE + 60)
    assert forms.prune_staged_references(now=later) == 1
    assert not default_storage.exists(key)
