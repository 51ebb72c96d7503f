"""station.barcodes under hypothesis: nothing a scanner can send makes identify raise,
station codes round-trip, and check digits catch every single-digit error."""

from __future__ import annotations

import string

from biip.checksums import gs1_standard_check_digit
from hypothesis import example, given, settings
from hypothesis import strategies as st

from station.barcodes import (
    Framing,
    Identity,
    ParcelCode,
    StationCode,
    Unreadable,
    identify,
    index_keys,
    station_code,
)

GS = "\x1d"


def well_formed(result: Identity) -> None:
    assert isinstance(result, (ParcelCode, StationCode, Unreadable))
    # text goes on the screen and into the event: no control characters in it.
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in result.text)
    if isinstance(result, Unreadable):
        assert result.reason
        # identify's last-resort catch must never be what answered.
        assert "internal error" not in result.reason
    if isinstance(result, ParcelCode):
        assert result.keys, "a parcel code always has something to look up"
        for key in result.keys:
            assert key == key.upper()
            assert " " not in key and "-" not in key


# Pieces scanners really send, shuffled together: hypothesis finds the odd joins.
PIECES = st.sampled_from(
    [
        "]C1",
        "]C0",
        "]d2",
        "]Q3",
        "]e0",
        GS,
        "\r",
        "\n",
        "\t",
        " ",
        "-",
        "00",
        "420",
        "421",
        "401",
        "402",
        "1Z",
        "TBA",
        "$ST:",
        "LANE:",
        "VAN:",
        "CMD:",
        "https://",
        "www.",
        "?",
        "=",
        "/",
        "(",
        ")",
        "[)>",
        "\x1e",
        "\x04",
        "92",
        "96",
        "1001",
        "\x00",
        "\xff",
        "é",
        "²",
        "٣",
        "\u00a0",
    ]
)
SCANLIKE = st.lists(
    st.one_of(
        PIECES, st.text(alphabet=string.digits, max_size=22), st.text(alphabet=string.ascii_uppercase, max_size=3)
    ),
    max_size=12,
).map("".join)


@settings(max_examples=400)
@given(st.binary(max_size=2_000))
@example(b"\xff" * 20_000)
@example(b"]C1\x1d\x1d\x1d")
@example(b"$ST:LANE:\xff")
def test_any_bytes_give_an_identity(data: bytes) -> None:
    well_formed(identify(data))


@settings(max_examples=400)
@given(st.text(max_size=600))
def test_any_text_gives_an_identity(text: str) -> None:
    well_formed(identify(text))


@settings(max_examples=600)
@given(SCANLIKE)
@example("]C1420" + GS + "9")
@example("https://id.gs1.org/00/")
@example("(00)")
def test_scan_like_text_gives_an_identity(text: str) -> None:
    well_formed(identify(text))
    well_formed(identify(text, Framing(prefixes=("]C1",), suffixes=("\t",), fnc1="(")))
    assert isinstance(index_keys(text), tuple)


VAN_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", fullmatch=True)
COMMANDS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,31}", fullmatch=True)


@given(VAN_IDS, st.sampled_from(["", "\r", "\r\n", "\t"]))
def test_van_codes_round_trip(van: str, suffix: str) -> None:
    result = identify((station_code("van", van) + suffix).encode())
    assert result == StationCode("van", van, station_code("van", van))


@given(st.integers(min_value=1, max_value=10_000))
def test_lane_codes_round_trip(lane: int) -> None:
    assert identify(station_code("lane", str(lane))) == StationCode("lane", str(lane), f"$ST:LANE:{lane}")


@given(COMMANDS)
def test_command_codes_round_trip(name: str) -> None:
    result = identify("]C0" + station_code("command", name))
    assert isinstance(result, StationCode)
    assert (result.kind, result.value) == ("command", name.upper())


@given(st.text(alphabet=string.ascii_uppercase + string.digits + ":$", max_size=30))
def test_station_prefix_is_never_a_parcel(rest: str) -> None:
    assert not isinstance(identify("$ST:" + rest), ParcelCode)


# -- check digits catch single-digit errors --------------------------------------------------


def with_digit(number: str, position: int, digit: str) -> str:
    return number[:position] + digit + number[position + 1 :]


@given(st.text(alphabet=string.digits, min_size=17, max_size=17), st.data())
def test_sscc_single_digit_errors_are_caught(payload: str, data: st.DataObject) -> None:
    sscc = payload + str(gs1_standard_check_digit(payload))
    good = identify("]C100" + sscc)
    assert isinstance(good, ParcelCode) and good.problem is None and good.keys[0] == sscc
    position = data.draw(st.integers(min_value=0, max_value=17))
    digit = data.draw(st.sampled_from([d for d in string.digits if d != sscc[position]]))
    bad = identify("]C100" + with_digit(sscc, position, digit))
    assert isinstance(bad, ParcelCode)
    assert bad.problem is not None and bad.problem.startswith("check digit wrong")


UPS_BODY = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=15, max_size=15)


@given(UPS_BODY, st.data())
def test_ups_single_character_errors_are_caught(body: str, data: st.DataObject) -> None:
    # Find the check digit by trying all ten: exactly one must pass.
    passing = [
        d for d in string.digits if (r := identify("1Z" + body + d)) and isinstance(r, ParcelCode) and r.problem is None
    ]
    assert len(passing) == 1
    number = "1Z" + body + passing[0]
    position = data.draw(st.integers(min_value=2, max_value=17))
    digit = data.draw(st.sampled_from([d for d in string.digits if d != number[position]]))
    changed = with_digit(number, position, digit)
    result = identify(changed)
    assert isinstance(result, ParcelCode)

    # Weights 1,2 from the left: a change is missed only when it moves the sum by a
    # multiple of ten (a letter and the digit it maps to, or a change of 5 under weight 2).
    def value(ch: str) -> int:
        return int(ch) if ch.isdigit() else (ord(ch) - 63) % 10

    weight = 2 if position < 17 and (position - 2) % 2 else 1
    if (value(digit) - value(number[position])) * weight % 10:
        assert result.problem is not None
    else:
        assert result.problem is None


@given(st.text(alphabet=string.digits, min_size=11, max_size=11), st.data())
def test_fedex_express_12_single_digit_errors_are_caught(serial: str, data: st.DataObject) -> None:
    passing = [
        d for d in string.digits if (r := identify(serial + d)) and isinstance(r, ParcelCode) and r.problem is None
    ]
    # mod 11 then mod 10: remainders 0 and 10 share check digit 0.
    assert len(passing) == 1
    number = serial + passing[0]
    assert index_keys(number)[0] in identify("]C0" + number).keys  # type: ignore[union-attr]


@given(
    st.sampled_from(
        [
            "1Z5R89390357567127",
            "986578788855",
            "9400111201080805483016",
            "C11031500001879",
            "RB123456785GB",
            "TBA502887274000",
            "3318810025",
        ]
    ),
    st.lists(st.sampled_from([" ", "-"]), min_size=18, max_size=18),
    st.booleans(),
)
def test_spaces_dashes_and_case_do_not_change_keys(number: str, seps: list[str], lower: bool) -> None:
    spaced = "".join(ch + sep for ch, sep in zip(number, seps, strict=False)) + number[len(seps) :]
    if lower:
        spaced = spaced.lower()
    a, b = identify(number), identify(spaced)
    assert isinstance(a, ParcelCode) and isinstance(b, ParcelCode)
    assert (a.keys, a.format, a.problem) == (b.keys, b.format, b.problem)


# -- any barcode of a parcel shares a key with the manifest code --------------------------

SSCC_FORMS = st.sampled_from(
    [
        "]C100{}",
        "\x1d00{}",
        "00{}",
        "]d200{}42012345",
        "]Q300{}\x1d4010614141A",
        "(00) {}",
        "https://id.gs1.org/00/{}",
        "{}",
    ]
)
MANIFEST_SSCC = st.sampled_from(["{}", "00{}", "(00){}", "(00) {}"])


@given(
    st.text(alphabet=string.digits, min_size=17, max_size=17),
    SSCC_FORMS,
    MANIFEST_SSCC,
    st.sampled_from(["", "\r", "\r\n", "\t"]),
)
def test_every_sscc_label_form_finds_the_manifest_sscc(
    payload: str, scan_form: str, manifest_form: str, suffix: str
) -> None:
    sscc = payload + str(gs1_standard_check_digit(payload))
    scan = identify((scan_form.format(sscc) + suffix).encode())
    assert isinstance(scan, ParcelCode), scan
    assert set(scan.keys) & set(index_keys(manifest_form.format(sscc)))


IMPB_FORMS = st.sampled_from(
    [
        "{}",
        "420{zip}{}",
        "]C1420{zip}\x1d{}",
        "\x1d420{zip}\x1d{}",
        "]C1420{zip}{}",
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    ]
)


@given(
    st.text(alphabet=string.digits, min_size=19, max_size=19),
    st.sampled_from(["92", "93", "94", "95"]),
    st.from_regex(r"[0-9]{5}([0-9]{4})?", fullmatch=True),
    IMPB_FORMS,
)
def test_every_usps_label_form_finds_the_impb(body: str, channel: str, zip_code: str, form: str) -> None:
    payload = channel + body[:19]
    impb = payload + str(gs1_standard_check_digit(payload))
    scan = identify(form.format(impb, zip=zip_code))
    assert isinstance(scan, ParcelCode), scan
    assert scan.problem is None
    assert scan.keys[0] == impb
