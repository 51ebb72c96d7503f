"""Manifest files: accepted whole or rejected whole, with line numbers and reasons."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.core import Station
from station.errors import ManifestError
from station.manifest import parse_csv, read_manifest

HEADER = "tracking_id,recipient,address,postal_code,lat,lon,weight_kg,window_start,window_end,codes\n"
GOOD = HEADER + (
    "1Z999AA10123456784,Ann Lee,1 Main St,69001,45.75,4.84,1.5,09:00,11:00,00106141412345678908|ORD-1\n"
    "8840975802,Bob Ray,2 Side St,69002,45.76,4.85,0.4,,,\n"
)


def test_a_good_csv_gives_every_field(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text(GOOD)
    first, second = read_manifest(f)
    assert first.tracking_id == "1Z999AA10123456784" and first.recipient == "Ann Lee"
    assert (first.lat, first.lon, first.weight_kg) == (45.75, 4.84, 1.5)
    assert (first.window_start, first.window_end) == (time(9), time(11))
    assert first.codes == ("00106141412345678908", "ORD-1")
    assert second.window_start is None and second.codes == ()


def test_a_bad_file_is_rejected_whole_with_every_bad_line(tmp_path: Path, station: Station) -> None:
    text = HEADER + (
        "A001,Ann,1 Main St,69001,45.75,4.84,1.5,,,\n"
        "A002,Bob,2 Main St,69001,north,4.84,1.5,,,\n"  # line 3: lat not a number
        "A003,,3 Main St,69001,45.75,4.84,1.5,,,\n"  # line 4: no recipient
        "A001,Dup,4 Main St,69001,45.75,4.84,1.5,,,\n"  # line 5: duplicate
        "A005,Eve,5 Main St,69001,45.75,4.84,1.5,11:00,09:00,\n"  # line 6: window backwards
        "A006,Fay,6 Main St,69001,45.75,4.84,-2,,,\n"  # line 7: negative weight
    )
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ManifestError) as err:
        station.import_manifest(f)
    lines = [n for n, _ in err.value.problems]
    assert lines == [3, 4, 5, 6, 7]
    reasons = dict(err.value.problems)
    assert "lat" in reasons[3] and "recipient" in reasons[4] and "already on line 2" in reasons[5]
    assert "line 3" in str(err.value)
    assert station.store.scalar("SELECT count(*) FROM parcels") == 0  # nothing half-imported


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ManifestError) as err:
        parse_csv("tracking_id,recipient\nA,B\n")
    assert "address" in str(err.value) and "weight_kg" in str(err.value)


def test_json_manifest_with_parcels_key(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_text(
        json.dumps(
            {
                "parcels": [
                    {
                        "tracking_id": "J001",
                        "recipient": "R",
                        "address": "A",
                        "postal_code": "1",
                        "lat": 1.0,
                        "lon": 2.0,
                        "weight_kg": 1,
                        "codes": ["X1"],
                    }
                ]
            }
        )
    )
    (parcel,) = read_manifest(f)
    assert parcel.tracking_id == "J001" and parcel.codes == ("X1",)


def test_json_errors_name_the_parcel(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"tracking_id": "J001"}, 5]))
    with pytest.raises(ManifestError) as err:
        read_manifest(f)
    assert "parcel 1" in str(err.value) and "parcel 2" in str(err.value)


def test_empty_coordinates_are_accepted_for_the_planner_to_report(tmp_path: Path) -> None:
    (parcel,) = parse_csv(HEADER + "A001,Ann,1 Main St,69001,,,1.5,,,\n")
    assert parcel.lat is None and parcel.lon is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_either_parcels_or_a_manifest_error(text: str) -> None:
    try:
        parcels = parse_csv(HEADER + text)
    except ManifestError as exc:
        assert exc.problems
    else:
        assert all(p.tracking_id for p in parcels)
