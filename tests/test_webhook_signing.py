"""Standard Webhooks signatures (station.central.signing), checked against the
specification's own worked example and against tampering."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.central.signing import SignatureError, new_secret, secret_key, sign_headers, signature, verify

# The example of the Standard Webhooks specification (spec/standard-webhooks.md, "Signature scheme").
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_the_same() -> None:
    assert signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 10)


def test_a_new_secret_is_whsec_and_32_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret_key(secret) == base64.b64decode(secret.removeprefix("whsec_"))
    assert new_secret() != secret


def test_tampering_or_replaying_is_refused() -> None:
    secret = new_secret()
    headers = sign_headers(secret, "msg_1", b'{"a":1}', now=1_000_000)
    verify(secret, headers, b'{"a":1}', now=1_000_000)
    with pytest.raises(SignatureError, match="no signature"):
        verify(secret, headers, b'{"a":2}', now=1_000_000)
    with pytest.raises(SignatureError, match="no signature"):
        verify(new_secret(), headers, b'{"a":1}', now=1_000_000)
    with pytest.raises(SignatureError, match="no signature"):
        verify(secret, {**headers, "webhook-id": "msg_2"}, b'{"a":1}', now=1_000_000)
    with pytest.raises(SignatureError, match="too far"):
        verify(secret, headers, b'{"a":1}', now=1_000_000 + 301)
    with pytest.raises(SignatureError, match="required"):
        verify(secret, {"webhook-id": "msg_1"}, b'{"a":1}', now=1_000_000)


def test_any_of_several_signatures_may_match() -> None:
    secret = new_secret()
    good = sign_headers(secret, "msg_1", b"x", now=5000)
    several = {**good, "webhook-signature": "v1,AAAA v1a,zzz " + good["webhook-signature"]}
    verify(secret, several, b"x", now=5000)


def test_a_secret_that_is_not_base64_or_too_short_is_refused() -> None:
    with pytest.raises(SignatureError):
        secret_key("whsec_not base64!")
    with pytest.raises(SignatureError):
        secret_key("whsec_" + base64.b64encode(b"short").decode())


@given(st.binary(max_size=512), st.text(min_size=1, max_size=40), st.integers(0, 2**33))
def test_what_is_signed_verifies(body: bytes, webhook_id: str, when: int) -> None:
    secret = new_secret()
    verify(secret, sign_headers(secret, webhook_id, body, now=when), body, now=when)
