"""Standard Webhooks signatures (https://www.standardwebhooks.com/), both sides.

Owns the secret format (``whsec_`` + base64 of 32 random bytes; the key is the decoded
bytes), the signed content ``<webhook-id>.<webhook-timestamp>.<body>``, the header
``webhook-signature: v1,<base64 HMAC-SHA256>`` (space-separated when several keys sign),
and verification as a receiver must do it: every signature in the header is tried in
constant time, and a timestamp more than five minutes from now is refused (a replay).
The server signs; the end-to-end test and a company's receiver verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 5 * 60


class SignatureError(ValueError):
    """A webhook that must not be trusted: the message says why."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("the secret is not base64 after whsec_") from exc
    if not 24 <= len(key) <= 64:
        raise SignatureError("the secret must hold 24 to 64 bytes")
    return key


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one attempt."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(secret: str, webhook_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The three headers of one delivery attempt (the timestamp is the attempt's)."""
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, webhook_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None) -> None:
    """Raise :class:`SignatureError` unless ``headers`` (lower-case names) sign ``body``."""
    webhook_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    presented = headers.get("webhook-signature")
    if not webhook_id or not stamp or not presented:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > TOLERANCE_S:
        raise SignatureError("webhook-timestamp is too far from now")
    expected = signature(secret, webhook_id, timestamp, body).encode()
    for candidate in presented.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no signature matches")
