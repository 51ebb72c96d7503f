"""station.barcodes: every format with published numbers, valid and invalid; framing;
station codes; bad input; and the agreement of scan keys with manifest index keys.

Numbers marked "jkeen" are the published test numbers of the tracking_number_data project
(jkeen, MIT); "GS1" are the GS1 General Specifications' examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from station.barcodes import (
    FRAMING_KEYS,
    Framing,
    ParcelCode,
    StationCode,
    Unreadable,
    framing_from_config,
    identify,
    index_keys,
    station_code,
)

GS = "\x1d"
SSCC = "106141412345678908"  # GS1 example SSCC
IMPB = "9400111201080805483016"  # jkeen, USPS 91 valid
UPS = "1Z5R89390357567127"  # jkeen
# The number, then shipper + package id: what a UPS MaxiCode carries of it.
UPS_KEYS = (UPS, "UPS:5R8939:57567127")


def parcel(data: str | bytes, framing: Framing | None = None) -> ParcelCode:
    result = identify(data, framing)
    assert isinstance(result, ParcelCode), result
    return result


def unreadable(data: str | bytes) -> Unreadable:
    result = identify(data)
    assert isinstance(result, Unreadable), result
    return result


# -- carrier numbers: published valid numbers -------------------------------------------

VALID = [
    # (scan text, format, first key)
    ("1Z5R89390357567127", "ups", "1Z5R89390357567127"),  # jkeen
    ("1Z879E930346834440", "ups", "1Z879E930346834440"),  # jkeen
    ("1Z410E7W0392751591", "ups", "1Z410E7W0392751591"),  # jkeen
    ("1Z8V92A70367203024", "ups", "1Z8V92A70367203024"),  # jkeen
    ("986578788855", "fedex-express", "986578788855"),  # jkeen, FedEx Express 12
    ("477179081230", "fedex-express", "477179081230"),  # jkeen
    ("799531274483", "fedex-express", "799531274483"),  # jkeen
    ("974367662710", "fedex-express", "974367662710"),  # jkeen
    ("0414 4176 0228 964", "fedex-ground", "041441760228964"),  # jkeen, Ground 15
    ("5682 8361 0012 734", "fedex-ground", "568283610012734"),  # jkeen
    ("61299998820821171811", "fedex-smartpost", "61299998820821171811"),  # jkeen, 20
    ("9611020987654312345672", "fedex-ground", "9611020987654312345672"),  # jkeen, 96 (22)
    # FedEx 34: the first key is the 12-digit tracking number it ends with.
    ("1001921334250001000300779017972697", "fedex-express", "779017972697"),  # jkeen
    ("1001901781990001000300617767839437", "fedex-express", "617767839437"),  # jkeen
    ("9622001900000000000000776632517510", "fedex-express", "776632517510"),  # jkeen, GSN
    ("9632001560123456789900794808390594", "fedex-express", "794808390594"),  # jkeen
    ("0307 1790 0005 2348 3741", "usps-20", "03071790000523483741"),  # jkeen, USPS 20
    ("7112 3456 7891 2345 6787", "usps-20", "71123456789123456787"),  # jkeen
    ("7196 9010 7560 0307 7385", "usps-impb", "71969010756003077385"),  # jkeen, 91 left off
    ("9400 1112 0108 0805 4830 16", "usps-impb", IMPB),  # jkeen, IMpb 22
    ("9505 5110 6960 5048 6006 24", "usps-impb", "9505511069605048600624"),  # jkeen
    ("9361 2898 7870 0317 6337 95", "usps-impb", "9361289878700317633795"),  # jkeen
    ("92748931507708513018050063", "usps-impb", "92748931507708513018050063"),  # jkeen, 26
    ("9261292700768711948021", "usps-impb", "9261292700768711948021"),  # jkeen, SmartPost 22
    # 420 ZIP + IMpb with the GS after the ZIP lost by the scanner: the IMpb is the key.
    ("420 22153 9101026837331000039521", "usps-impb", "9101026837331000039521"),  # jkeen
    ("4201002334249200190132607600833457", "usps-impb", "9200190132607600833457"),  # jkeen
    ("4201028200009261290113185417468510", "usps-impb", "9261290113185417468510"),  # jkeen
    ("3318810025", "dhl-express", "3318810025"),  # jkeen, DHL Express 10 (mod 7)
    ("8487135506", "dhl-express", "8487135506"),  # jkeen
    ("1099255990", "dhl-express", "1099255990"),  # jkeen
    ("73891051146", "dhl-express", "73891051146"),  # jkeen, 11 digits
    ("JJD0099999999", "dhl-piece", "JJD0099999999"),  # jkeen, DHL Express piece id
    ("GM2951173225174494", "dhl-ecommerce", "GM2951173225174494"),  # jkeen
    ("GM 2 9 5 117 32 25 1 7 44 9 4", "dhl-ecommerce", "GM2951173225174494"),  # jkeen
    ("TBA502887274000", "amazon", "TBA502887274000"),  # jkeen
    ("tba010000000000", "amazon", "TBA010000000000"),  # jkeen, lower case from a wedge
    ("C11031500001879", "ontrac", "C11031500001879"),  # jkeen
    ("C 110 31 500 00187 9", "ontrac", "C11031500001879"),  # jkeen
    ("D10011354453707", "ontrac", "D10011354453707"),  # jkeen
    ("RB123456785GB", "s10", "RB123456785GB"),  # jkeen, UPU S10
    ("RB123456785US", "s10", "RB123456785US"),  # jkeen
    ("rb 123 456 785 cf", "s10", "RB123456785CF"),  # jkeen
    ("EE123456785DE", "s10", "EE123456785DE"),  # same serial, EMS service, Germany
    (SSCC, "sscc", SSCC),  # GS1: a bare SSCC
    ("00 0123 4500 0000 0027", "sscc", "000123450000000027"),  # jkeen, FedEx SSCC-18
]


@pytest.mark.parametrize(("text", "fmt", "key"), VALID)
def test_published_valid_numbers(text: str, fmt: str, key: str) -> None:
    code = parcel(text)
    assert code.format == fmt
    assert code.keys[0] == key
    assert code.problem is None


# -- carrier numbers: invalid ---------------------------------------------------------------

WRONG_CHECK = [
    # (scan text, format, expected digit, digit on the label)
    ("1Z5R89390357567128", "ups", 7, 8),
    ("1Z1111111111111111", "ups", 8, 1),  # jkeen invalid
    ("996578788855", "fedex-express", 6, 5),  # jkeen invalid
    ("1001901781990001000300617767839438", "fedex-express", 7, 8),  # jkeen invalid
    ("9622001560001234567100794808390595", "fedex-express", 4, 5),  # jkeen invalid
    ("5682 8361 0012 732", "fedex-ground", 4, 2),  # jkeen invalid
    ("9600000000000000000001", "fedex-ground", 0, 1),  # jkeen invalid
    ("9261292700768711948020", "usps-impb", 1, 0),  # jkeen invalid
    ("4201028200009261290113185417468511", "usps-impb", 0, 1),  # jkeen invalid
    ("3318810010", "dhl-express", 4, 0),  # jkeen invalid
    ("3318810034", "dhl-express", 6, 4),  # jkeen invalid
    ("C11031500001889", "ontrac", 7, 9),  # jkeen invalid
    ("D10011345983012", "ontrac", 0, 2),  # jkeen invalid
    ("RB123456786US", "s10", 5, 6),  # jkeen invalid
    ("106141412345678907", "sscc", 8, 7),
    ("]C100106141412345678907", "sscc", 8, 7),
    # A 20-digit number that passes none of USPS 20, SmartPost ("92") or IMpb ("91").
    ("03071790000523483740", "usps-20", 1, 0),
]


@pytest.mark.parametrize(("text", "fmt", "expected", "got"), WRONG_CHECK)
def test_wrong_check_digit_is_a_problem_not_a_refusal(text: str, fmt: str, expected: int, got: int) -> None:
    # The manifest decides: the keys are still there to look up.
    code = parcel(text)
    assert code.format == fmt
    assert code.problem == f"check digit wrong: expected {expected}, got {got}"
    assert code.keys


def test_s10_with_unknown_country_is_a_problem() -> None:
    code = parcel("RB123456785XX")  # jkeen invalid
    assert code.problem == "country code XX unknown"


def test_amazon_wrong_length_is_a_problem() -> None:
    assert parcel("TBA5028872740").problem == "Amazon TBA number should have 12 digits, got 10"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1Z5R8939035756712", "truncated: UPS 1Z number needs 18 characters, got 17"),
        ("1Z5R89390357", "truncated: UPS 1Z number needs 18 characters, got 12"),
        ("]C100106141412345", "truncated: SSCC needs 18 digits, got 12"),
        (GS + "0010614141234567", "truncated: SSCC needs 18 digits, got 14"),
        ("(00)1061414123", "truncated: SSCC needs 18 digits, got 10"),
    ],
)
def test_truncated(text: str, reason: str) -> None:
    assert unreadable(text).reason == reason


# -- GS1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "]C100" + SSCC,  # GS1-128 with AIM identifier
        GS + "00" + SSCC,  # FNC1 in first position sent as GS
        "00" + SSCC,  # FNC1 dropped, no AIM
        "]d200" + SSCC + "42012345",  # GS1 DataMatrix, SSCC then ship-to ZIP
        "]Q300" + SSCC + "42012345",  # GS1 QR
        "]e000" + SSCC,  # GS1 DataBar
        "]C1420" + "12345" + GS + "00" + SSCC,  # ZIP first, then SSCC
        "(00) 1 0614141 234567890 8",  # GS1 HRI as printed under the barcode
        "https://id.gs1.org/00/" + SSCC,  # GS1 Digital Link
        "]Q3https://example.com/00/" + SSCC + "?17=201225",  # Digital Link on a brand domain
    ],
)
def test_sscc_found_in_every_gs1_form(text: str) -> None:
    code = parcel(text)
    assert code.format == "sscc"
    assert code.keys[0] == SSCC
    assert code.problem is None


def test_fnc1_stand_in_from_framing() -> None:
    framing = Framing(fnc1="<GS>")
    code = parcel("<GS>42012345<GS>" + IMPB, framing)
    assert code.keys[0] == IMPB
    assert code.format == "usps-impb"


@pytest.mark.parametrize(
    "text",
    [
        "]C142022153" + GS + IMPB,  # GS1-128 with the GS kept: biip reads the IMpb as AI 94
        GS + "42022153" + GS + IMPB,
        "42022153" + IMPB,  # GS lost, ZIP 5
        "420221531234" + IMPB,  # GS lost, ZIP+4
        "]C1420221531234" + IMPB,  # GS lost after ZIP+4, AIM on
        "]C1421840221531234" + GS + IMPB,  # 421: country 840 then postal code
    ],
)
def test_usps_420_zip_then_impb(text: str) -> None:
    code = parcel(text)
    assert code.keys[0] == IMPB
    assert code.format == "usps-impb"
    assert code.problem is None


def test_420_then_fedex_smartpost_20_after_gs() -> None:
    # biip reads "61..." after the GS as AI 61x and fails; the number after the GS is read.
    code = parcel("]C142012345" + GS + "61299998820821171811")
    assert code.format == "fedex-smartpost"
    assert "61299998820821171811" in code.keys


def test_gs1_401_and_402_are_keys() -> None:
    # GSIN check digit computed with GS1 mod 10 (06141411234567890: payload 0614141123456789).
    code = parcel("]C14010614141ABC" + GS + "40206141411234567890")
    assert code.keys == ("06141411234567890", "0614141ABC")
    assert code.format == "gs1-402"
    assert code.problem is None
    bad = parcel("]C140206141411234567898")
    assert bad.problem == "check digit wrong: expected 0, got 8"


def test_postal_code_only_label_says_what_to_scan() -> None:
    assert unreadable("]C142012345").reason == "ship-to postal code only (12345): scan the tracking barcode"


def test_product_barcode_is_not_a_parcel() -> None:
    assert "product barcode" in unreadable("]d2010952012345678810ABC").reason


def test_c0_is_not_parsed_as_gs1() -> None:
    # ]C0 is a plain Code 128: "00" + 16 digits is not read as a (truncated) SSCC.
    code = parcel("]C0001061414123456789")
    assert code.keys == ("001061414123456789",)


def test_gs1_aim_on_a_carrier_number() -> None:
    # Scanners programmed to report ]C1 for everything: a UPS number is still UPS.
    assert parcel("]C11Z5R89390357567127").format == "ups"


# -- URLs and structured payloads --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.ups.com/track?loc=en_US&tracknum=1Z5R89390357567127", "1Z5R89390357567127"),
        ("https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums=1Z879E930346834440", "1Z879E930346834440"),
        ("https://www.fedex.com/fedextrack/?trknbr=986578788855", "986578788855"),
        ("https://www.fedex.com/apps/fedextrack/?tracknumbers=477179081230", "477179081230"),
        ("https://tools.usps.com/go/TrackConfirmAction?tLabels=" + IMPB, IMPB),
        ("https://www.dhl.com/en/express/tracking.html?brand=DHL&AWB=3318810025", "3318810025"),
        ("https://www.dhl.com/de-en/home/tracking.html?tracking-id=8487135506&submit=1", "8487135506"),
        ("https://track.amazon.com/tracking/TBA502887274000", "TBA502887274000"),
        ("http://www.ontrac.com/tracking/?number=C11031500001879", "C11031500001879"),
        ("www.ups.com/track?tracknum=1z5r89390357567127", "1Z5R89390357567127"),
        ("https://www.fedex.com/fedextrack/#/?tracknumbers=986578788855", "986578788855"),
    ],
)
def test_carrier_tracking_urls(url: str, key: str) -> None:
    assert parcel(url).keys[0] == key


def test_url_without_tracking_number() -> None:
    assert unreadable("https://example.com/about?track=yes").reason == (
        "web address without a tracking number this station knows"
    )


def test_iso_15434_payload() -> None:
    payload = "[)>\x1e01\x1d02840\x1d1Z5R89390357567127\x1dUPSN\x1e\x04"
    assert parcel(payload).keys[0] == "1Z5R89390357567127"


# A UPS MaxiCode as an imager sends it (layout of UPS's published example): "1Z" + the
# package id and check digit in one field, then the SCAC, then the shipper number.
MAXICODE = (
    "[)>\x1e01\x1d96841706672\x1d840\x1d001\x1d1Z57567127\x1dUPSN\x1d5R8939\x1d089\x1d\x1d1/1"
    "\x1d10.1\x1dY\x1d\x1d\x1dUT\x1e\x04"
)


def test_ups_maxicode_finds_the_1z_number() -> None:
    code = parcel(MAXICODE)
    assert code.format == "ups-maxicode"
    assert code.keys == ("UPS:5R8939:57567127",)
    assert code.keys[0] in index_keys(UPS)


def test_json_payload() -> None:
    assert parcel('{"order":"A-17","tracking":"9400 1112 0108 0805 4830 16"}').keys[0] == IMPB


# -- framing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"1Z5R89390357567127\r",
        b"1Z5R89390357567127\r\n",
        b"\t1Z5R89390357567127\t",
        b"  1Z5R89390357567127  ",
        b"\x02]C01Z5R89390357567127\x03",  # STX/ETX and a Code 128 AIM identifier
        b"]C01Z5R\x0089390357567127",  # a stray NUL inside
        b"\xef\xbb\xbf1Z5R89390357567127",  # a UTF-8 byte order mark
        b"1Z-5R8-939-0357-5671-27",
        b"1z5r89390357567127",
        b"1Z5R89390357567127\xff",  # one non-UTF-8 byte at the end (latin-1 y umlaut)
    ],
)
def test_framing_is_removed(data: bytes) -> None:
    code = identify(data)
    if data.endswith(b"\xff"):
        # Not text: refused, never silently "repaired" into another parcel.
        assert isinstance(code, Unreadable)
        return
    assert isinstance(code, ParcelCode), code
    assert code.keys == UPS_KEYS


def test_configured_prefix_and_suffix() -> None:
    framing = Framing(prefixes=("DOCK1:", "D"), suffixes=("#END",))
    code = parcel(b"DOCK1:1Z5R89390357567127#END\r", framing)
    assert code.keys == UPS_KEYS


def test_aim_identifiers_are_removed() -> None:
    for aim in ("]C0", "]A0", "]I0", "]E0", "]d1", "]Q1", "]L2"):
        assert parcel(aim + "1Z5R89390357567127").keys == UPS_KEYS


# -- station codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "text", "canonical"),
    [
        ("van", "V12", "$ST:VAN:V12", "V12"),
        ("van", "north-3.b", "$ST:VAN:north-3.b", "north-3.b"),
        ("lane", "7", "$ST:LANE:7", "7"),
        ("lane", "07", "$ST:LANE:7", "7"),
        ("command", "undo", "$ST:CMD:UNDO", "UNDO"),
        ("cmd", "CLOSE_DAY", "$ST:CMD:CLOSE_DAY", "CLOSE_DAY"),
    ],
)
def test_station_code_round_trip(kind: str, value: str, text: str, canonical: str) -> None:
    assert station_code(kind, value) == text
    result = identify(text)
    assert isinstance(result, StationCode)
    assert result.kind == ("command" if kind == "cmd" else kind)
    assert result.value == canonical


def test_station_code_survives_framing_and_case() -> None:
    result = identify(b"]C0$st:lane:3\r\n")
    assert result == StationCode("lane", "3", "$st:lane:3")


@pytest.mark.parametrize(("kind", "value"), [("lane", "x"), ("lane", "0"), ("van", "a b"), ("shelf", "1")])
def test_station_code_refuses_what_it_could_not_read_back(kind: str, value: str) -> None:
    with pytest.raises(ValueError):
        station_code(kind, value)


@pytest.mark.parametrize("text", ["$ST:LANE:x", "$ST:FOO:1", "$ST:", "$ST:VAN:", "$ST:VAN:a b"])
def test_bad_station_code_is_never_a_parcel(text: str) -> None:
    assert unreadable(text).reason.startswith("station code not recognised")


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty scan"),
        ("", "empty scan"),
        (b"\r\n", "empty scan"),
        (b"\x00\x01\x02", "empty scan"),
        (b"]C1", "empty scan"),
        (b"\xff\xfe\xfd\xfc", "not a barcode this station knows (scanner sent bytes that are not text)"),
        (b"A" * 10_000, "not a barcode this station knows (far too long)"),
        (bytes(range(256)) * 40, "not a barcode this station knows (far too long)"),
        ("!!", "not a barcode this station knows"),
        ("1Z5R89390357567127\r\n1Z879E930346834440", "two barcodes in one scan: scan one barcode at a time"),
    ],
)
def test_bad_input_gets_a_reason(data: bytes | str, reason: str) -> None:
    assert unreadable(data).reason == reason


def test_unknown_but_plausible_code_is_looked_up() -> None:
    # An order code has no known format: the manifest decides, the problem explains.
    code = parcel("ORD-2024-0001")
    assert code.keys == ("ORD20240001",)
    assert code.format == "other"
    assert code.problem == "not a barcode this station knows"


# -- manifest index keys agree with scan keys ----------------------------------------------


def find(manifest: dict[str, tuple[str, ...]], scan: str | bytes) -> str | None:
    """What the core does: index every key of every code, look scan keys up in order."""
    table: dict[str, str] = {}
    for parcel_id, codes in manifest.items():
        for code in codes:
            for key in index_keys(code):
                table.setdefault(key, parcel_id)
    result = identify(scan)
    if not isinstance(result, ParcelCode):
        return None
    for key in result.keys:
        if key in table:
            return table[key]
    return None


MANIFEST = {
    "P1": ("1Z5R89390357567127", "(00) 106141412345678908"),
    "P2": ("779017972697", "ORD-4711"),
    "P3": (IMPB,),
    "P4": ("61299998820821171811",),
    "P5": ("041441760228964", "00106141412345678915"),
    "P6": ("3318810025",),
    "P7": ("RB123456785GB",),
}


@pytest.mark.parametrize(
    ("scan", "parcel_id"),
    [
        (b"]C100106141412345678908\r", "P1"),  # the SSCC label of P1, GS1-128 with ]C1
        (b"\x1d00106141412345678908", "P1"),
        (b"1z5r 8939 0357 5671 27", "P1"),
        (MAXICODE.encode(), "P1"),
        (b"1001921334250001000300779017972697", "P2"),  # FedEx 34-digit barcode
        (b"ord4711", "P2"),
        (b"]C142022153\x1d" + IMPB.encode(), "P3"),
        (b"42022153" + IMPB.encode(), "P3"),
        (b"9261299998820821171811", "P4"),  # SmartPost with its 92: manifest holds the 20
        (b"9611020041441760228964", "P5"),  # FedEx Ground 96 (22) ending in the Ground 15
        (b"]C100106141412345678915", "P5"),
        (b"https://www.dhl.com/en/express/tracking.html?AWB=3318810025", "P6"),
        (b"https://id.gs1.org/00/106141412345678908", "P1"),
        (b"rb123456785gb", "P7"),
    ],
)
def test_any_barcode_of_a_parcel_finds_it(scan: bytes, parcel_id: str) -> None:
    assert find(MANIFEST, scan) == parcel_id


def test_wrong_check_digit_known_to_manifest_is_still_found() -> None:
    # A carrier printed a bad check digit; the manifest has the number as printed.
    manifest: dict[str, tuple[str, ...]] = {"P9": ("1Z5R89390357567128",)}
    assert find(manifest, "1Z5R89390357567128") == "P9"
    assert parcel("1Z5R89390357567128").problem is not None


def test_index_keys_of_manifest_forms() -> None:
    assert index_keys("(00) 106141412345678908")[0] == SSCC
    assert index_keys("00106141412345678908")[0] == SSCC
    assert index_keys("1001921334250001000300779017972697")[0] == "779017972697"
    assert index_keys("61299998820821171811") == ("61299998820821171811", "9261299998820821171811")
    assert index_keys("ORD-4711") == ("ORD4711",)
    assert index_keys("  ") == ()


def test_multi_line_2d_code_with_one_tracking_number() -> None:
    code = parcel("SHIP TO: A. Smith\nTRACKING: 1Z5R89390357567127\nREF: 4711")
    assert code.keys == UPS_KEYS


def test_lone_separators_are_an_empty_scan() -> None:
    assert unreadable("\x1d\r").reason == "empty scan"
    assert unreadable("]C1\x1d").reason == "empty scan"


def test_text_shows_separators_for_the_screen() -> None:
    code = parcel("]C142022153" + GS + IMPB)
    assert code.text == "42022153<GS>" + IMPB


def test_framing_from_config() -> None:
    framing = framing_from_config({"name": "dock 1", "prefix": "D1:", "suffix": ["#", "##"], "fnc1": "^"})
    assert framing == Framing(prefixes=("D1:",), suffixes=("#", "##"), fnc1="^")
    assert framing_from_config({}) == Framing()
    with pytest.raises(ValueError, match="fnc1"):
        framing_from_config({"fnc1": 29})
    with pytest.raises(ValueError, match="prefix"):
        framing_from_config({"prefix": ["", "x"]})
    assert parcel("D1:^00" + SSCC + "##", framing).keys == (SSCC,)


def test_sscc_with_ai_printed_without_fnc1_and_wrong_check() -> None:
    code = parcel("00106141412345678907")
    assert (code.format, code.keys[0]) == ("sscc", "106141412345678907")
    assert code.problem == "check digit wrong: expected 8, got 7"


def test_gs1_string_with_fnc1_and_aim_both_dropped() -> None:
    # Some scanners send neither ]C1 nor the GS: biip still splits fixed-length AIs.
    assert parcel("00" + SSCC + "42012345").keys == (SSCC,)
    assert parcel("00" + SSCC + "4010614141ABC12").keys == (SSCC, "0614141ABC12")


def test_words_in_a_url_are_not_parcel_codes() -> None:
    assert isinstance(identify("https://example.com/t?tracking=true&id=home"), Unreadable)


@pytest.mark.parametrize("text", ["١٢٣٤٥٦٧٨٩٠١٢", "²²²²²²²²²²²²", "1Z٥R89390357567127"])
def test_unicode_digits_are_not_a_barcode(text: str) -> None:
    assert unreadable(text).reason == "not a barcode this station knows"


def test_421_with_a_4_digit_postal_code_and_the_gs_lost() -> None:
    # 421 + country 276 (Germany) + postal code 1234 + IMpb, FNC1 dropped.
    assert parcel("]C14212761234" + IMPB).keys[0] == IMPB


@pytest.mark.parametrize("text", ["TRACKING:" + UPS, "ref=77;trk=" + UPS, "A1," + UPS])
def test_key_value_payloads(text: str) -> None:
    assert parcel(text).keys == UPS_KEYS


def test_lost_gs_with_two_splits_that_pass_gives_both_keys() -> None:
    # ZIP+4 12345-9201 then the IMpb; read as ZIP 12345 the rest is a 26-digit number
    # whose check digit happens to hold too. Both are keys, the 22-digit IMpb first.
    code = parcel("420123459201" + IMPB)
    assert code.keys == (IMPB, "9201" + IMPB)
    assert code.problem is None


def test_docs_list_every_format_and_framing_key() -> None:
    # docs/barcodes.md is the page a hub lead reads: it must name what the code does.
    docs = (Path(__file__).resolve().parent.parent / "docs" / "barcodes.md").read_text()
    formats = {fmt for _, fmt, _ in VALID} | {fmt for _, fmt, _, _ in WRONG_CHECK}
    formats |= {
        parcel(MAXICODE).format,
        parcel("]C14010614141ABC").format,
        parcel("ORD-1234").format,
        parcel("]C140206141411234567890").format,
    }
    missing = sorted(fmt for fmt in formats if f"`{fmt}`" not in docs)
    assert not missing, f"formats not in docs/barcodes.md: {missing}"
    for key in FRAMING_KEYS:
        assert f"`{key}`" in docs
    for kind, value in (("van", "V1"), ("lane", "1"), ("command", "UNDO")):
        prefix = station_code(kind, value).rsplit(":", 1)[0]
        assert f"`{prefix}:" in docs
