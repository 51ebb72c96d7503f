"""Proof of delivery from the drivers' apps: what a posted delivery must be.

Owns the validation of ``POST /v1/deliveries`` bodies (a uuid ``delivery_id`` that makes
the post idempotent, the outcome, the time, the position, who received it) and of the
optional photo or signature: JPEG or PNG, at most 2 MB, checked by its magic bytes *and*
its structure (a JPEG's segments up to the scan and its end marker, a PNG's chunks with
their CRCs from IHDR to IEND), never by the name or type the app claims. Images are
stored by content hash (:func:`photo_name`). Pure: the storage and the route use it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_PHOTO_BYTES = 2 * 1024 * 1024
OUTCOMES = ("delivered", "failed_attempt")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class DeliveryError(ValueError):
    """A delivery that cannot be accepted; the message is the 4xx's reason."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Photo:
    media_type: str  # image/jpeg | image/png
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class PostedDelivery:
    delivery_id: str
    tracking_id: str
    outcome: str
    reason: str | None
    occurred_at: datetime
    lat: float | None
    lon: float | None
    received_by: str | None
    photo: Photo | None

    def fields(self) -> dict[str, Any]:
        """The stored row, without the image bytes (those go to the content-addressed file)."""
        return {
            "delivery_id": self.delivery_id,
            "tracking_id": self.tracking_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "occurred_at": self.occurred_at.isoformat(),
            "lat": self.lat,
            "lon": self.lon,
            "received_by": self.received_by,
            "photo_sha256": self.photo.sha256 if self.photo else None,
        }


def image_type(data: bytes) -> str:
    """``image/jpeg`` or ``image/png``, or raise :class:`DeliveryError` saying what is wrong."""
    if len(data) > MAX_PHOTO_BYTES:
        raise DeliveryError(f"the photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB", status=413)
    if data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data)
        return "image/jpeg"
    if data.startswith(PNG_SIGNATURE):
        _check_png(data)
        return "image/png"
    raise DeliveryError("the photo is not a JPEG or PNG image")


def _check_jpeg(data: bytes) -> None:
    """Walk the marker segments from SOI to the start of scan, then find EOI at the end."""
    pos = 2
    frame = False
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise DeliveryError("the photo is not a whole JPEG image (broken segment)")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD8 or marker == 0xD9 or 0xD0 <= marker <= 0xD7:
            raise DeliveryError("the photo is not a whole JPEG image (marker out of place)")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise DeliveryError("the photo is not a whole JPEG image (segment overruns the file)")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = True  # a start-of-frame: the image has dimensions
        if marker == 0xDA:
            break
        pos += 2 + length
    if not frame:
        raise DeliveryError("the photo is not a whole JPEG image (no frame header)")
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise DeliveryError("the photo is not a whole JPEG image (truncated)")


def _check_png(data: bytes) -> None:
    pos = len(PNG_SIGNATURE)
    first = True
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise DeliveryError("the photo is not a whole PNG image (bad chunk checksum)")
        if first and (kind != b"IHDR" or length != 13):
            raise DeliveryError("the photo is not a whole PNG image (no header chunk)")
        first = False
        if kind == b"IEND":
            return
        pos = end
    raise DeliveryError("the photo is not a whole PNG image (truncated)")


def photo_name(photo: Photo) -> str:
    """The file name a photo is stored under: its content hash, so a repeat is one file."""
    return photo.sha256 + (".jpg" if photo.media_type == "image/jpeg" else ".png")


def _text(data: dict[str, Any], name: str, *, limit: int = 200, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise DeliveryError(f"{name} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise DeliveryError(f"{name} must be text")
    if len(value) > limit:
        raise DeliveryError(f"{name} is longer than {limit} characters")
    return value.strip() or None


def _coordinate(data: dict[str, Any], name: str, bound: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
        raise DeliveryError(f"{name} must be a number between -{bound:g} and {bound:g}")
    return float(value)


def parse_delivery(data: Any) -> PostedDelivery:
    """A posted body as a delivery, or :class:`DeliveryError` naming the first bad field.

    The photo (or signature image) travels as ``{"photo": {"data": <base64>}}``: JSON
    keeps one body and one idempotency rule for the whole delivery."""
    if not isinstance(data, dict):
        raise DeliveryError("the body must be a JSON object", status=400)
    delivery_id = _text(data, "delivery_id", required=True)
    try:
        delivery_id = str(uuid.UUID(str(delivery_id)))
    except ValueError as exc:
        raise DeliveryError("delivery_id is not a uuid") from exc
    tracking_id = _text(data, "tracking_id", limit=64, required=True)
    assert tracking_id is not None
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise DeliveryError(f"outcome must be one of {', '.join(OUTCOMES)}")
    reason = _text(data, "reason")
    if outcome == "failed_attempt" and reason is None:
        raise DeliveryError("a failed attempt needs a reason")
    when_text = _text(data, "occurred_at", limit=40, required=True)
    try:
        occurred_at = datetime.fromisoformat(str(when_text))
    except ValueError as exc:
        raise DeliveryError("occurred_at is not an ISO-8601 time") from exc
    if occurred_at.tzinfo is None:
        raise DeliveryError("occurred_at has no UTC offset")
    photo = None
    raw = data.get("photo")
    if raw is not None:
        encoded = raw.get("data") if isinstance(raw, dict) else None
        if not isinstance(encoded, str):
            raise DeliveryError('photo must be {"data": "<base64 of a JPEG or PNG>"}')
        if len(encoded) > (MAX_PHOTO_BYTES * 4) // 3 + 8:
            raise DeliveryError(f"the photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB", status=413)
        try:
            image = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DeliveryError("photo data is not base64") from exc
        photo = Photo(image_type(image), image)
    return PostedDelivery(
        delivery_id=delivery_id,
        tracking_id=tracking_id,
        outcome=str(outcome),
        reason=reason,
        occurred_at=occurred_at,
        lat=_coordinate(data, "lat", 90),
        lon=_coordinate(data, "lon", 180),
        received_by=_text(data, "received_by"),
        photo=photo,
    )
