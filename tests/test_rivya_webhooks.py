import hashlib
import hmac
import json

import pytest

from generations.rivya import InvalidEvent, InvalidSignature, RivyaError
from generations.rivya.webhooks import SIGNATURE_HEADER, parse_event, sign, verify_signature

SECRET = "whsec_Q2x5Zm9vYmFyYmF6cXV4cXV1eA"
NOW = 1_778_457_600  # 2026-05-11T00:00:00Z

GENERATION = {
    "id": "task_abc",
    "status": "succeeded",
    "model": "kling-2-6",
    "reserved_credits": 55,
    "final_credits": 55,
    "created_at": "2026-05-11T00:00:00.000Z",
    "updated_at": "2026-05-11T00:00:10.000Z",
    "result": {"primary_url": "https://m.test/v.mp4", "urls": ["https://m.test/v.mp4"]},
    "error": None,
}


def event_body(**extra):
    event = {
        "id": "evt_1",
        "type": "generation.succeeded",
        "api_version": "2026-05-11",
        "created_at": "2026-05-11T00:00:10.000Z",
        **extra,
    }
    return json.dumps(event).encode()


BODY = event_body(data=GENERATION)


def test_header_name():
    assert SIGNATURE_HEADER == "Rivya-Signature"


def test_sign_follows_the_scheme():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign(BODY, SECRET, NOW) == f"t={NOW},v1={expected}"


def test_valid_signature_passes():
    verify_signature(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW + 10)


def test_tampered_body_fails():
    header = sign(BODY, SECRET, NOW)
    tampered = BODY.replace(b"succeeded", b"failed")

    with pytest.raises(InvalidSignature):
        verify_signature(tampered, header, SECRET, now=NOW)


def test_wrong_secret_fails():
    header = sign(BODY, "whsec_someone_else", NOW)

    with pytest.raises(InvalidSignature) as caught:
        verify_signature(BODY, header, SECRET, now=NOW)

    assert SECRET not in str(caught.value)
    assert isinstance(caught.value, RivyaError)


@pytest.mark.parametrize("offset", [301, -301, 10_000])
def test_stale_or_future_timestamp_fails(offset):
    header = sign(BODY, SECRET, NOW)

    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, SECRET, now=NOW + offset)


def test_tolerance_is_configurable():
    header = sign(BODY, SECRET, NOW)

    verify_signature(BODY, header, SECRET, now=NOW + 300)
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, SECRET, now=NOW + 60, tolerance=30)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t=soon,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
    ],
)
def test_missing_or_malformed_header_fails(header):
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_one_of_several_v1_values_is_enough():
    good = sign(BODY, SECRET, NOW).split("v1=")[1]
    old = sign(BODY, "whsec_old_secret", NOW).split("v1=")[1]
    header = f"t={NOW}, v1={old}, v0=ignored, v1={good.upper()}"

    verify_signature(BODY, header, SECRET, now=NOW)


def test_several_wrong_v1_values_fail():
    old = sign(BODY, "whsec_old", NOW).split("v1=")[1]
    older = sign(BODY, "whsec_older", NOW).split("v1=")[1]

    with pytest.raises(InvalidSignature):
        verify_signature(BODY, f"t={NOW},v1={old},v1={older}", SECRET, now=NOW)


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        verify_signature(BODY, sign(BODY, "", NOW), "", now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        event_body(data=GENERATION),
        event_body(data={"object": GENERATION}),
        event_body(generation=GENERATION),
    ],
)
def test_parse_event_finds_the_generation(body):
    event = parse_event(body)

    assert (event.id, event.type, event.api_version) == (
        "evt_1",
        "generation.succeeded",
        "2026-05-11",
    )
    assert event.created_at.isoformat() == "2026-05-11T00:00:10+00:00"
    assert event.generation.id == "task_abc"
    assert event.generation.result.primary_url == "https://m.test/v.mp4"


def test_parse_event_without_generation():
    assert parse_event(event_body(data={"note": "test"})).generation is None


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"type": "generation.succeeded"}).encode(),
        json.dumps({"id": "evt_1"}).encode(),
        event_body(data={"id": "task_without_status"}),
    ],
)
def test_parse_event_rejects_unreadable_events(payload):
    with pytest.raises(InvalidEvent):
        parse_event(payload)
