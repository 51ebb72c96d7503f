"""Proof-of-delivery bodies and their photos (station.central.deliveries): only a whole JPEG
or PNG of at most 2 MB is accepted, whatever the app claims."""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station.central.deliveries import MAX_PHOTO_BYTES, DeliveryError, image_type, parse_delivery, photo_name

DATA = Path(__file__).parent / "data"
JPEG = (DATA / "pod-photo.jpg").read_bytes()
PNG = (DATA / "pod-photo.png").read_bytes()


def body(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "delivery_id": str(uuid.uuid4()),
        "tracking_id": "P1",
        "outcome": "delivered",
        "reason": None,
        "occurred_at": "2026-11-25T14:02:00+01:00",
        "lat": 45.73,
        "lon": 4.83,
        "received_by": "M. Martin",
    }
    data.update(over)
    return data


def test_real_jpeg_and_png_are_recognised() -> None:
    assert image_type(JPEG) == "image/jpeg"
    assert image_type(PNG) == "image/png"


@pytest.mark.parametrize(
    "data, why",
    [
        (b"GIF89a" + b"\x00" * 50, "not a JPEG or PNG"),
        (b"%PDF-1.7\n", "not a JPEG or PNG"),
        (JPEG[: len(JPEG) // 2], "JPEG"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "JPEG"),
        (PNG[:-12], "PNG"),
        (PNG[:40] + bytes([PNG[40] ^ 0xFF]) + PNG[41:], "PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"hello", "PNG"),
    ],
)
def test_what_only_looks_like_an_image_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(DeliveryError, match=why):
        image_type(data)


def test_a_photo_over_2_mb_is_413() -> None:
    # A structurally valid PNG padded with a private chunk past the limit.
    pad = b"x" * (MAX_PHOTO_BYTES)
    chunk = struct.pack(">I", len(pad)) + b"prVt" + pad + struct.pack(">I", zlib.crc32(b"prVt" + pad))
    big = PNG[:33] + chunk + PNG[33:]
    with pytest.raises(DeliveryError) as caught:
        image_type(big)
    assert caught.value.status == 413


@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_check(data: bytes) -> None:
    try:
        image_type(data)
    except DeliveryError:
        pass


@given(st.integers(1, len(JPEG) - 1))
def test_every_truncated_jpeg_is_refused(cut: int) -> None:
    with pytest.raises(DeliveryError):
        image_type(JPEG[:cut])


def test_a_delivery_with_its_photo_parses_and_is_named_by_content() -> None:
    posted = parse_delivery(body(photo={"data": base64.b64encode(JPEG).decode()}))
    assert posted.photo is not None and posted.photo.media_type == "image/jpeg"
    assert photo_name(posted.photo).endswith(".jpg")
    assert photo_name(posted.photo).startswith(posted.photo.sha256)
    assert posted.fields()["photo_sha256"] == posted.photo.sha256
    assert posted.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    "over, why",
    [
        ({"delivery_id": "42"}, "uuid"),
        ({"delivery_id": None}, "delivery_id is required"),
        ({"tracking_id": ""}, "tracking_id"),
        ({"outcome": "lost"}, "outcome"),
        ({"outcome": "failed_attempt", "reason": None}, "reason"),
        ({"occurred_at": "yesterday"}, "ISO-8601"),
        ({"occurred_at": "2026-11-25T14:02:00"}, "UTC offset"),
        ({"lat": 91}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"received_by": "x" * 500}, "received_by"),
        ({"photo": "not an object"}, "photo"),
        ({"photo": {"data": "@@@"}}, "base64"),
        ({"photo": {"data": base64.b64encode(b"just text").decode()}}, "not a JPEG or PNG"),
    ],
)
def test_bad_fields_are_named(over: dict[str, Any], why: str) -> None:
    with pytest.raises(DeliveryError, match=why):
        parse_delivery(body(**over))


def test_a_body_that_is_not_an_object_is_400() -> None:
    with pytest.raises(DeliveryError) as caught:
        parse_delivery([1, 2])
    assert caught.value.status == 400
