"""Manifest files: the parcels the hub expects for a day, read from CSV or JSON.

Owns the file formats and their checks. A file is accepted whole or rejected whole:
every bad line is reported with its number and reason, so the hub lead can fix the
file in one go, and nothing is half-imported.

CSV columns: ``tracking_id,recipient,address,postal_code,lat,lon,weight_kg`` and the
optional ``window_start,window_end`` (HH:MM) and ``codes`` (other barcodes, ``|``-separated).
JSON: a list of objects with the same keys (``codes`` a list), or ``{"parcels": [...]}``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import time
from pathlib import Path
from typing import Any

from station import labels
from station.errors import ManifestError
from station.model import Parcel

REQUIRED = ("tracking_id", "recipient", "address", "postal_code", "lat", "lon", "weight_kg")
OPTIONAL = ("window_start", "window_end", "codes")
MAX_WEIGHT_KG = 1000.0


def read_manifest(path: Path | str) -> list[Parcel]:
    """Read and check a manifest file; raise :class:`ManifestError` listing every bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} does not exist") from None
    except UnicodeDecodeError:
        raise ManifestError(f"manifest {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ManifestError(f"manifest {path} cannot be read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        return parse_json(text, name=str(path))
    return parse_csv(text, name=str(path))


def parse_csv(text: str, *, name: str = "manifest") -> list[Parcel]:
    # newline="" hands line endings to the csv module, which handles CR, LF and quoted newlines.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ManifestError(f"{name} rejected", [(1, f"not a CSV header: {exc}")]) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ManifestError(f"{name} rejected", [(1, f"missing column(s): {', '.join(missing)}")])
    reader.fieldnames = header
    rows: list[tuple[int, Mapping[str, Any]]] = []
    try:
        for row in reader:
            # DictReader puts extra cells under None; a short row leaves None values.
            extra = row.pop(None, None)
            record: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
            if extra:
                record["__extra__"] = extra
            rows.append((reader.line_num, record))
    except csv.Error as exc:
        raise ManifestError(f"{name} rejected", [(reader.line_num, f"not CSV: {exc}")]) from None
    return _check_all(rows, name)


def parse_json(text: str, *, name: str = "manifest") -> list[Parcel]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{name} rejected", [(exc.lineno, f"not valid JSON: {exc.msg}")]) from None
    return parse_document(doc, name=name)


def parse_document(doc: Any, *, name: str = "manifest") -> list[Parcel]:
    """Check a decoded JSON manifest (a file's, or the central server's on a pull).

    ``doc`` is a list of parcel objects or ``{"parcels": [...]}``; anything else, and any bad
    parcel, raises :class:`ManifestError` naming every problem.
    """
    items = doc.get("parcels") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ManifestError(f"{name} rejected", [(0, 'expected a list of parcels or {"parcels": [...]}')])
    rows: list[tuple[int, Mapping[str, Any]]] = []
    for i, item in enumerate(items, start=1):
        rows.append((i, item if isinstance(item, dict) else {"__not_object__": item}))
    return _check_all(rows, name, unit="parcel")


def parse_records(records: Iterable[Mapping[str, Any]], *, name: str = "manifest") -> list[Parcel]:
    """Check parcels given as mappings (a manifest's ``parcels``, e.g. on the central server)."""
    return _check_all(list(enumerate(records, start=1)), name, unit="parcel")


def parcel_record(p: Parcel) -> dict[str, Any]:
    """A parcel as a JSON manifest holds it (what :func:`parse_document` reads back)."""
    return {
        "tracking_id": p.tracking_id,
        "recipient": p.recipient,
        "address": p.address,
        "postal_code": p.postal_code,
        "lat": p.lat,
        "lon": p.lon,
        "weight_kg": p.weight_kg,
        "window_start": p.window_start.strftime("%H:%M") if p.window_start else None,
        "window_end": p.window_end.strftime("%H:%M") if p.window_end else None,
        "codes": list(p.codes),
    }


def _check_all(rows: Sequence[tuple[int, Mapping[str, Any]]], name: str, unit: str = "line") -> list[Parcel]:
    parcels: list[Parcel] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line, record in rows:
        try:
            parcel = _parcel(record)
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        if parcel.tracking_id in first_line:
            first = first_line[parcel.tracking_id]
            problems.append((line, f"tracking_id {parcel.tracking_id} already on {unit} {first}"))
            continue
        first_line[parcel.tracking_id] = line
        parcels.append(parcel)
    if not rows:
        problems.append((0, "the manifest has no parcels"))
    if problems:
        raise ManifestError(f"{name} rejected: {len(problems)} problem(s), nothing imported", problems, unit)
    return parcels


def _text(record: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{key} is empty")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"{key} must be text, got {_json_text(value)}")
    return str(value).strip()


def _number(record: Mapping[str, Any], key: str, *, required: bool) -> float | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{key} is empty")
        return None
    if isinstance(value, bool):
        raise ValueError(f"{key} is not a number: {_json_text(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} is not a number: {_json_text(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{key} is not a number: {value!r}")
    return number


def _json_text(value: Any) -> str:
    """A bad value as the file or document wrote it (true, {...}), not as Python prints it (True)."""
    try:
        return json.dumps(value, ensure_ascii=False)[:80]
    except (TypeError, ValueError):
        return repr(value)[:80]


def _time(record: Mapping[str, Any], key: str) -> time | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        hh, mm = str(value).strip().split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"{key} must be HH:MM, got {_json_text(value)}") from None


def _parcel(record: Mapping[str, Any]) -> Parcel:
    if "__not_object__" in record:
        raise ValueError(f"expected an object, got {_json_text(record['__not_object__'])}")
    if record.get("__extra__"):
        raise ValueError(f"more cells than columns: {record['__extra__']!r}")
    tracking_id = _text(record, "tracking_id")
    if any(ch.isspace() for ch in tracking_id) or len(tracking_id) > 64:
        raise ValueError(f"tracking_id {tracking_id!r} is not a tracking id")
    # Refused here rather than found unscannable at the dock: its sort label would not find it.
    if why := labels.why_not_on_a_label(tracking_id):
        raise ValueError(f"tracking_id {tracking_id!r} cannot go on a sort label: {why}")
    # Coordinates may be left empty (the planner reports the parcel); half a pair is a mistake.
    lat = _number(record, "lat", required=False)
    lon = _number(record, "lon", required=False)
    if (lat is None) != (lon is None):
        raise ValueError("lat and lon must both be given or both be empty")
    if lat is not None and not -90 <= lat <= 90:
        raise ValueError(f"lat {lat} is outside -90..90")
    if lon is not None and not -180 <= lon <= 180:
        raise ValueError(f"lon {lon} is outside -180..180")
    weight = _number(record, "weight_kg", required=True)
    assert weight is not None
    if not 0 <= weight <= MAX_WEIGHT_KG:
        raise ValueError(f"weight_kg {weight} is outside 0..{MAX_WEIGHT_KG:g}")
    start, end = _time(record, "window_start"), _time(record, "window_end")
    if start and end and end <= start:
        raise ValueError(f"window_end {end:%H:%M} is not after window_start {start:%H:%M}")
    raw_codes = record.get("codes") or []
    if isinstance(raw_codes, str):
        raw_codes = [c for c in raw_codes.split("|") if c.strip()]
    if not isinstance(raw_codes, list) or not all(isinstance(c, (str, int)) for c in raw_codes):
        raise ValueError("codes must be a list of barcodes")
    return Parcel(
        tracking_id=tracking_id,
        recipient=_text(record, "recipient"),
        address=_text(record, "address"),
        postal_code=_text(record, "postal_code", required=False),
        lat=lat,
        lon=lon,
        weight_kg=weight,
        window_start=start,
        window_end=end,
        codes=tuple(str(c).strip() for c in raw_codes),
    )


def write_csv(parcels: Iterable[Parcel], path: Path) -> None:
    """Write parcels in the CSV manifest format (the demo and tests use it)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*REQUIRED, *OPTIONAL])
        for p in parcels:
            writer.writerow(
                [
                    p.tracking_id,
                    p.recipient,
                    p.address,
                    p.postal_code,
                    "" if p.lat is None else f"{p.lat:.6f}",
                    "" if p.lon is None else f"{p.lon:.6f}",
                    f"{p.weight_kg:g}",
                    p.window_start.strftime("%H:%M") if p.window_start else "",
                    p.window_end.strftime("%H:%M") if p.window_end else "",
                    "|".join(p.codes),
                ]
            )
