"""A sort label's barcode, scanned, finds its parcel: for every id the manifest accepts."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.printers.fake_zpl import code128_data
from station import barcodes, labels, manifest
from station.core import Station
from station.errors import ManifestError
from station.model import Parcel

RECORD = {"recipient": "R", "address": "1 Main St", "postal_code": "69001", "lat": 45.75, "lon": 4.84, "weight_kg": 1}


def accepted(tracking_id: str) -> str | None:
    """The id as the manifest keeps it, or None if the manifest refuses it."""
    try:
        (parcel,) = manifest.parse_records([{"tracking_id": tracking_id, **RECORD}])
    except ManifestError:
        return None
    return parcel.tracking_id


def scanned_from_label(tracking_id: str) -> str:
    """Render the sort label and read its barcode back as the printer encodes it."""
    zpl = labels.sort_label(
        tracking_id=tracking_id,
        lane=1,
        stop=2,
        van="V01",
        address="1 Main St",
        postal_code="69001",
        day=date(2026, 11, 30),
        station_id="dock-1",
    )
    (data,) = code128_data(zpl)
    return data


# Ids as order systems write them, with the characters the old label dropped.
IDS = st.text(alphabet=st.sampled_from("ABCXYZ0123456789/.+#-_*^~>"), min_size=1, max_size=30) | st.text(max_size=40)


@settings(max_examples=400, suppress_health_check=[HealthCheck.filter_too_much], deadline=None)
@given(IDS)
def test_every_accepted_id_scans_back_from_its_label(candidate: str) -> None:
    tracking_id = accepted(candidate)
    if tracking_id is None:
        return
    data = scanned_from_label(tracking_id)
    assert data == tracking_id  # the barcode carries the id exactly
    identity = barcodes.identify(data)
    assert isinstance(identity, barcodes.ParcelCode)
    assert set(identity.keys) & set(barcodes.index_keys(tracking_id))  # the station's lookup keys


@pytest.mark.parametrize(
    "tracking_id", ["ORD/2024/0042", "ORD.2024.0042", "PKG#12345678", "A+B*77", "1Z999AA10123456784"]
)
def test_the_label_of_an_order_code_finds_its_parcel(station: Station, tracking_id: str) -> None:
    parcel = Parcel(tracking_id, "R", "1 Main St", "69001", 45.75, 4.84, 1.0)
    station.replace_manifest([parcel], version="t")
    data = scanned_from_label(tracking_id)
    decision = station.scan(data, device="test")
    assert decision.tracking_id == tracking_id


@pytest.mark.parametrize(
    ("tracking_id", "why"),
    [("Café-123", "printable ASCII only"), ("AB", "would not know its barcode"), ("$ST:CMD:UNDO", "would not know")],
)
def test_ids_a_label_cannot_carry_are_refused_at_import_with_the_reason(tracking_id: str, why: str) -> None:
    with pytest.raises(ManifestError) as err:
        manifest.parse_records([{"tracking_id": tracking_id, **RECORD}])
    assert why in str(err.value.problems)


def test_the_barcode_is_packed_and_escaped() -> None:
    assert labels.code128_field("ORD/2024/0042") == ">:ORD/>52024>6/>50042"
    assert labels.code128_field("A^B>C~") == ">:A><B>0C>="
    assert labels.code128_field("12345") == ">:1>52345"
