"""Turns what a scanner sent into a parcel identity, a station code, or a clear reason.

This is the one place that knows barcode formats: scanner framing (prefixes, suffixes,
AIM symbology identifiers, FNC1 stand-ins), the station's own ``$ST:`` codes, carrier
tracking numbers and their check digits, GS1 element strings (through ``biip``), carrier
tracking URLs, GS1 Digital Link URIs and structured payloads that carry a tracking id.

``identify`` never raises: anything a scanner can send (empty, noise, bytes that are not
UTF-8) comes back as an :class:`Unreadable` with a reason a worker understands.

``index_keys`` gives the keys a manifest code is stored under; ``ParcelCode.keys`` the
keys a scan is looked up by. Both go through the same reading of the text, so any code
printed on a parcel finds it: a 34-digit FedEx barcode finds the 12-digit tracking id,
a USPS ``420`` ZIP + IMpb label finds the IMpb, a GS1-128 SSCC label finds the SSCC.

When a number fits a format but fails its check digit, the result is still a
:class:`ParcelCode` (with ``problem`` set): the manifest decides, and the problem is the
reason shown only when the manifest does not know the code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from biip import BiipException, ParseConfig
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.symbology import GS1Symbology

from station import reasons
from station.i18n import N_  # the reasons stay English on the wire; the screen translates them

STATION_PREFIX = "$ST:"
MAX_SCAN_LENGTH = 512
GS = "\x1d"  # ASCII group separator: how scanners send FNC1 inside a GS1 barcode
RS = "\x1e"
EOT = "\x04"

# The reasons are templates (station.reasons): stored in English, shown in the screen's language.
NOT_KNOWN = reasons.NOT_KNOWN


@dataclass(frozen=True)
class ParcelCode:
    """Text that may name a parcel.

    ``keys`` are lookup keys, most specific first. ``problem`` is set when the text looks
    like a known format but fails its check (a wrong check digit): the manifest may still
    know it, so lookup happens first and the problem is the reason only if it does not.
    """

    text: str
    keys: tuple[str, ...]
    format: str = "unknown"
    problem: str | None = None


@dataclass(frozen=True)
class StationCode:
    """A code the station printed itself: ``kind`` is van, lane or command."""

    kind: str
    value: str
    text: str


@dataclass(frozen=True)
class Unreadable:
    """A scan that names nothing; ``reason`` is shown to the worker and stored."""

    text: str
    reason: str


Identity = ParcelCode | StationCode | Unreadable


@dataclass(frozen=True)
class Framing:
    """How a scanner is programmed to frame its scans, beyond what is handled anyway.

    CR, LF, TAB, surrounding spaces, stray control characters and AIM symbology
    identifiers are always handled. ``prefixes`` and ``suffixes`` are strings a scanner
    was programmed to add (one of each is removed, longest first); ``fnc1`` is the
    stand-in string a scanner sends for FNC1 when it cannot send GS (0x1D), for example
    ``"<GS>"`` or ``"^"``. Choose a stand-in that never occurs in the data itself.
    """

    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    fnc1: str | None = None


DEFAULT_FRAMING = Framing()
FRAMING_KEYS = ("prefix", "suffix", "fnc1")


def framing_from_config(table: Mapping[str, object]) -> Framing:
    """A scanner's :class:`Framing` from its config table (``[[scanners]]`` in TOML).

    Reads ``prefix`` and ``suffix`` (a string or a list of strings) and ``fnc1`` (a
    string); other keys are ignored. Raises :class:`ValueError` naming the bad key, for
    the config loader to turn into its own error.
    """

    def strings(key: str) -> tuple[str, ...]:
        value = table.get(key, ())
        if isinstance(value, str):
            return (value,) if value else ()
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value):
            return tuple(value)
        raise ValueError(f"scanner key {key!r} must be a string or a list of non-empty strings")

    fnc1 = table.get("fnc1")
    if fnc1 is not None and (not isinstance(fnc1, str) or not fnc1):
        raise ValueError("scanner key 'fnc1' must be a non-empty string")
    return Framing(strings("prefix"), strings("suffix"), fnc1)


# --- station codes -------------------------------------------------------------------

_STATION_KINDS = {"VAN": "van", "LANE": "lane", "CMD": "command"}
_KIND_WORDS = {"van": "VAN", "lane": "LANE", "command": "CMD", "cmd": "CMD"}
_VAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_COMMAND = re.compile(r"[A-Z][A-Z0-9_]{0,31}")


def station_code(kind: str, value: str) -> str:
    """The barcode text for one of the station's own codes.

    ``kind`` is ``"van"``, ``"lane"`` or ``"command"``. Raises :class:`ValueError` for a
    value the station could not read back (a lane that is not a number, a van id with
    spaces), so a bad code is never printed.
    """
    word = _KIND_WORDS.get(kind.lower())
    if word is None:
        raise ValueError(f"unknown station code kind {kind!r}: use van, lane or command")
    parsed = _station_value(word, value.strip())
    if isinstance(parsed, str) and parsed.startswith("!"):
        raise ValueError(parsed[1:])
    return f"{STATION_PREFIX}{word}:{parsed}"


def _station_value(word: str, value: str) -> str:
    """The canonical value of a station code, or ``"!reason"`` when it is not valid."""
    if word == "LANE":
        if not value.isdigit() or not value.isascii() or int(value) < 1:
            return "!" + reasons.LANE_NOT_A_NUMBER
        return str(int(value))
    if word == "VAN":
        if not _VAN_ID.fullmatch(value):
            return "!" + reasons.VAN_ID_WRONG
        return value
    name = value.upper()
    if not _COMMAND.fullmatch(name):
        return "!" + reasons.COMMAND_WRONG
    return name


def _read_station_code(text: str) -> StationCode | Unreadable:
    text = text.rstrip(_SEPARATORS)
    word, _, value = text[len(STATION_PREFIX) :].partition(":")
    kind = _STATION_KINDS.get(word.upper())
    if kind is None or not value:
        return Unreadable(_shown(text), reasons.STATION_CODE_NOT_RECOGNISED)
    parsed = _station_value(word.upper(), value.strip())
    if parsed.startswith("!"):
        return Unreadable(_shown(text), reasons.STATION_CODE_WRONG(why=parsed[1:]))
    return StationCode(kind, parsed, text)


# --- check digits ----------------------------------------------------------------------


def gs1_check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit of ``payload`` (digits, weights 3,1 from the right).

    The station's one: SSCC, GSIN, IMpb, FedEx Ground and USPS 20 here, the EPCIS
    mapping's SSCC test, the demo's generated labels.
    """
    return gs1_standard_check_digit(payload)


def _ups_value(ch: str) -> int:
    # UPS (and OnTrac) map letters onto digits as A=2, B=3 ... I=0, J=1 ...
    return int(ch) if ch.isdigit() else (ord(ch) - 63) % 10


def ups_check_digit(payload: str) -> int:
    """The UPS (and OnTrac) check digit: UPS over the 15 characters after "1Z"."""
    # Weights 1,2,1,2... from the left; UPS over the 15 characters after "1Z", OnTrac
    # over its letter and 13 digits.
    total = sum(_ups_value(ch) * (2 if i % 2 else 1) for i, ch in enumerate(payload))
    return (10 - total % 10) % 10


def _fedex_express_check(payload: str) -> int:
    # Weights 1,3,7 from the right, modulo 11 then 10; the 34-digit form's 13-digit
    # serial gives the same digit as the 12-digit tracking number it ends with.
    weights = (1, 3, 7)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(payload)))
    return total % 11 % 10


def _mod7_check(payload: str) -> int:
    return int(payload) % 7


_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def _s10_check(serial: str) -> int:
    r = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True)) % 11
    return 0 if r == 10 else 5 if r == 11 else r


def _check_problem(expected: int, got: str) -> str:
    return reasons.CHECK_WRONG(expected=expected, got=got)


# --- carrier numbers -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reading:
    """One interpretation of a code: keys empty means the reason in ``problem`` refuses it."""

    format: str
    keys: tuple[str, ...]
    problem: str | None = None


def _checked(fmt: str, keys: tuple[str, ...], expected: int, got: str) -> _Reading:
    ok = str(expected) == got
    return _Reading(fmt, keys, None if ok else _check_problem(expected, got))


_S10 = re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}")
_DHL_ECOMMERCE = re.compile(r"(?:GM|LX|RX|UV|CN|SG|TH|IN|HK|MY)\d{10,39}")
_DHL_PIECE = re.compile(r"J[A-Z]{2,3}\d{9,10}")
_OTHER_CODE = re.compile(r"[A-Z0-9][A-Z0-9._/+#*]{3,39}")
# ISO 3166-1 alpha-2 codes, for the country at the end of a UPU S10 number.
_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR
    GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
    KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP
    MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG
    VI VN VU WF WS YE YT ZA ZM ZW XK""".split()
)


def _is_digits(text: str) -> bool:
    # str.isdigit() alone accepts "²" and Arabic-Indic digits, which int() and the
    # check digit functions then choke on.
    return text.isascii() and text.isdigit()


def normalise(text: str) -> str:
    """Upper case, with spaces and dashes removed: the form every key is stored in."""
    return text.upper().replace(" ", "").replace("-", "").replace("\t", "")


def _read_number(t: str) -> _Reading:
    """Read a normalised code (upper case, no spaces or dashes) as a carrier number.

    Returns format ``"other"`` for a plausible code of no known format, so an order code
    in the manifest is still found, and keys ``()`` when the text is no code at all.
    """
    if not t.isascii():
        # Unicode has other digits and letters ("²", "٣"): no carrier prints them.
        return _Reading("other", (), NOT_KNOWN)
    if t.isdigit():
        return _read_digits(t)
    if t.startswith("1Z"):
        if len(t) != 18:
            return _Reading("ups", (), reasons.UPS_TRUNCATED(n=len(t)))
        if not t.isalnum():
            return _Reading("ups", (), NOT_KNOWN)
        return _checked("ups", (t, _ups_short_key(t[2:8], t[10:])), ups_check_digit(t[2:17]), t[17])
    if t.startswith("TBA") and t[3:].isdigit():
        # Amazon Logistics has no check digit; 12 digits is the published length.
        if len(t) == 15:
            return _Reading("amazon", (t,))
        return _Reading("amazon", (t,), reasons.AMAZON_LENGTH(n=len(t) - 3))
    if len(t) == 15 and t[0] in "CD" and t[1:].isdigit():
        return _checked("ontrac", (t,), ups_check_digit(t[:14]), t[14])
    if len(t) == 13 and _S10.fullmatch(t):
        reading = _checked("s10", (t,), _s10_check(t[2:10]), t[10])
        if reading.problem is None and t[11:] not in _COUNTRIES:
            return _Reading("s10", (t,), reasons.COUNTRY_UNKNOWN(code=t[11:]))
        return reading
    if _DHL_ECOMMERCE.fullmatch(t):
        return _Reading("dhl-ecommerce", (t,))
    if _DHL_PIECE.fullmatch(t):
        return _Reading("dhl-piece", (t,))
    if _OTHER_CODE.fullmatch(t):
        return _Reading("other", (t,), NOT_KNOWN)
    return _Reading("other", (), NOT_KNOWN)


def _ups_short_key(shipper: str, package: str) -> str:
    # A UPS MaxiCode carries "1Z" + the last 8 characters (package id and check digit)
    # and the 6-character shipper number in separate fields, but not the service code:
    # shipper + package is what both forms share. ":" keeps it apart from real numbers.
    return f"UPS:{shipper}:{package}"


def _read_digits(t: str) -> _Reading:
    n = len(t)
    if n in (10, 11):
        return _checked("dhl-express", (t,), _mod7_check(t[:-1]), t[-1])
    if n == 12:
        return _checked("fedex-express", (t,), _fedex_express_check(t[:-1]), t[-1])
    if n == 15:
        return _checked("fedex-ground", (t,), gs1_check_digit(t[:-1]), t[-1])
    if n == 18:
        return _checked("sscc", (t,), gs1_check_digit(t[:-1]), t[-1])
    if n == 20:
        return _read_20(t)
    if t.startswith(("420", "421")) and n > 12:
        return _read_postal_routed(t)
    if n == 22 and t.startswith("96"):
        # FedEx Ground 96: the 15-digit Ground tracking number is its last 15 digits.
        return _checked("fedex-ground", (t, t[-15:]), gs1_check_digit(t[-15:-1]), t[-1])
    if n in (22, 26, 30, 34) and t[0] == "9" and t[1] in "12345":
        return _read_impb(t)
    if n == 34 and t.startswith(("10", "96")):
        # FedEx 34-digit barcode: the 12-digit tracking number is its last 12 digits and
        # the check digit covers the 13 digits before the check digit.
        return _checked("fedex-express", (t[-12:], t), _fedex_express_check(t[-14:-1]), t[-1])
    if 4 <= n <= 40:
        return _Reading("other", (t,), NOT_KNOWN)
    return _Reading("other", (), NOT_KNOWN)


def _read_20(t: str) -> _Reading:
    # Twenty digits: an SSCC with its AI (00) printed without FNC1, a USPS 20 number, a
    # FedEx SmartPost number (an IMpb with its "92" left off) or a USPS IMpb with its
    # "91" left off. A wrong digit can pass another of these checks by chance (one in
    # ten): the manifest decides, these are only keys.
    got = t[-1]
    if t.startswith("00") and str(gs1_check_digit(t[2:-1])) == got:
        return _Reading("sscc", (t[2:], t))
    if str(gs1_check_digit(t[:-1])) == got:
        return _Reading("usps-20", (t,))
    if str(gs1_check_digit("92" + t[:-1])) == got:
        return _Reading("fedex-smartpost", (t, "92" + t))
    if str(gs1_check_digit("91" + t[:-1])) == got:
        return _Reading("usps-impb", (t, "91" + t))
    if t.startswith("00"):
        return _Reading("sscc", (t[2:], t), _check_problem(gs1_check_digit(t[2:-1]), got))
    return _Reading("usps-20", (t,), _check_problem(gs1_check_digit(t[:-1]), got))


def _read_impb(t: str) -> _Reading:
    """A USPS Intelligent Mail package barcode number (20 to 34 digits)."""
    keys: tuple[str, ...] = (t,)
    if len(t) == 22 and t.startswith(("91", "92")):
        # SmartPost and older USPS manifests may hold the number without its "92"/"91".
        keys = (t, t[2:])
    return _checked("usps-impb", keys, gs1_check_digit(t[:-1]), t[-1])


def _read_postal_routed(t: str) -> _Reading:
    """AI 420/421 + postal code + tracking number, the GS after the postal code lost.

    biip cannot split these: 420 is variable length; 421 starts with a 3-digit country.
    The tracking number that follows is an IMpb (22/26/30/34 digits starting 9[1-5]) or
    a 20-digit number. A check digit holds by chance one time in ten, so every split
    whose check holds gives keys (the manifest decides), the 22-digit IMpb, today's
    usual one, first; with none, the most likely split is returned with its problem.
    """
    country = 3 if t.startswith("421") else 0
    # USPS prints a 5 or 9 digit ZIP; other countries' numeric postal codes run 4 to 8.
    zip_lengths = (5, 9, 4, 6, 7, 8) if country else (5, 9)
    valid: list[_Reading] = []
    fallback: _Reading | None = None
    for zip_len in zip_lengths:
        rest = t[3 + country + zip_len :]
        if len(rest) not in (20, 22, 26, 30, 34):
            continue
        if len(rest) != 20 and not (rest[0] == "9" and rest[1] in "12345"):
            continue
        reading = _read_impb(rest) if len(rest) != 20 else _read_20(rest)
        if reading.problem is None:
            valid.append(reading)
        fallback = fallback or reading
    if valid:
        valid.sort(key=lambda r: len(r.keys[0]) != 22)
        keys = tuple(dict.fromkeys(key for r in valid for key in r.keys))
        return _Reading(valid[0].format, keys)
    if fallback is not None:
        return fallback
    if len(t) in (8, 12) or (country and len(t) <= 18):
        return _Reading("postal-code", (), _postal_only(t[3 + country :]))
    return _Reading("other", (t,), NOT_KNOWN)


def _postal_only(postal: str) -> str:
    return reasons.POSTAL_ONLY(postal=postal)


# --- GS1 ---------------------------------------------------------------------------------

# AIM symbology identifiers whose data is a GS1 element string (FNC1 in first position):
# ]C1 GS1-128, ]d2 GS1 DataMatrix, ]Q3 GS1 QR, ]e0 GS1 DataBar, ]J1 GS1 DotCode.
_GS1_AIM = frozenset("]" + s.value for s in GS1Symbology.with_gs1_messages())
_GS1_CONFIG = ParseConfig(separator_chars=(GS,))
# AIs a parcel's GS1 label starts with: worth asking biip when FNC1 was dropped.
_GS1_START = ("00", "401", "402", "420", "421")


def _read_gs1(data: str) -> _Reading:
    """Read a GS1 element string (FNC1 as GS) with biip and pick the parcel keys."""
    data = data.lstrip(GS).rstrip(GS)
    if data.startswith(("420", "421")) and GS not in data and _is_digits(data):
        return _read_postal_routed(data)
    try:
        message = GS1Message.parse(data, config=_GS1_CONFIG)
    except BiipException:
        return _gs1_failure(data)
    return _read_elements(message.element_strings)


def _gs1_failure(data: str) -> _Reading:
    reading = _gs1_failure_reason(data)
    if reading.keys:
        return reading
    # A scanner that adds ]C1 or a leading GS to everything: a carrier number inside
    # a "GS1" scan is still that carrier number.
    carrier = _read_number(normalise(data.replace(GS, "")))
    if carrier.keys and carrier.format != "other":
        return carrier
    return reading


def _gs1_failure_reason(data: str) -> _Reading:
    if data.startswith(("420", "421")) and GS in data:
        # A postal code then a tracking number that is not an AI of its own (a FedEx
        # SmartPost 20-digit number): biip cannot know; read the part after the GS.
        head, _, rest = data.partition(GS)
        reading = _read_number(normalise(rest.replace(GS, "")))
        if reading.keys and reading.format != "other":
            return reading
        return _Reading("postal-code", (), _postal_only(head[3:]))
    if data.startswith("00"):
        digits = len(data) - 2
        if digits < 18:
            return _Reading("sscc", (), reasons.SSCC_TRUNCATED(n=digits))
    return _Reading("gs1", (), reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[0]))


def _read_elements(elements: Iterable[GS1ElementString]) -> _Reading:
    by_ai: dict[str, str] = {}
    impb: _Reading | None = None
    postal: str | None = None
    for es in elements:
        ai = es.ai.ai
        by_ai.setdefault(ai, es.value)
        if ai in ("420", "421"):
            postal = es.value
        elif len(ai) == 2 and ai[0] == "9" and ai[1] in "12345" and impb is None:
            # USPS: "420 ZIP, FNC1, IMpb"; the IMpb's channel digits read as AI 9x.
            impb = _read_number(ai + normalise(es.value))
    keys: list[str] = []
    problem: str | None = None
    fmt = ""
    sscc = by_ai.get("00")
    if sscc is not None:
        fmt = "sscc"
        keys.append(sscc)
        problem = _gs1_problem(sscc)
    if impb is not None and impb.keys:
        fmt = fmt or impb.format
        keys.extend(impb.keys)
        problem = problem or impb.problem
    gsin = by_ai.get("402")
    if gsin is not None:
        fmt = fmt or "gs1-402"
        keys.append(gsin)
        problem = problem or _gs1_problem(gsin)
    ginc = by_ai.get("401")
    if ginc is not None:
        fmt = fmt or "gs1-401"
        keys.append(normalise(ginc))
    if keys:
        return _Reading(fmt, tuple(dict.fromkeys(keys)), problem)
    if postal is not None:
        return _Reading("postal-code", (), _postal_only(postal))
    if "01" in by_ai or "02" in by_ai:
        return _Reading("gs1", (), N_("product barcode (GTIN), not a parcel label: scan the shipping label"))
    return _Reading("gs1", (), N_("GS1 barcode without a parcel number: scan the shipping label"))


def _gs1_problem(number: str) -> str | None:
    expected = gs1_check_digit(number[:-1])
    return None if str(expected) == number[-1] else _check_problem(expected, number[-1])


def _read_hri(text: str) -> _Reading:
    """GS1 human readable form, "(00) 1061...": what a manifest or a 2D code may hold."""
    try:
        message = GS1Message.parse_hri(text)
    except BiipException:
        compact = "".join(text.split())
        if compact.startswith("(00)"):
            digits = len(compact) - 4
            if _is_digits(compact[4:]) and digits < 18:
                return _Reading("sscc", (), reasons.SSCC_TRUNCATED(n=digits))
        return _gs1_failure(compact.replace("(", "").replace(")", ""))
    return _read_elements(message.element_strings)


# --- URLs and structured payloads ------------------------------------------------------

# Query parameters carriers put the tracking number in (lower case).
_TRACKING_PARAMS = frozenset(
    """tracknum tracknums tracknumber tracknumbers trknbr trackingnumber trackingnumbers
    tracking_number tracking-id trackingid tlabels labels awb number id track tracking
    shipmentid piececode parcelnumber q""".split()
)
_URL_SPLIT = re.compile(r"[,;|\s]+")
_DIGITAL_LINK_AI = re.compile(r"/(00|01|401|402|414|417|8003|8004|8006|8010|8013|8017|8018)/")


def _best(candidates: Iterable[str], allow_other: bool) -> _Reading | None:
    """The candidate that reads best: a known format with a good check, then one with a
    problem, then (if allowed) a plausible code of no known format."""
    with_problem: _Reading | None = None
    other: _Reading | None = None
    for candidate in candidates:
        t = normalise(candidate)
        if not t or len(t) > 60:
            continue
        reading = _read_number(t)
        if not reading.keys:
            continue
        if reading.format == "other":
            # Words in a URL ("track=true") are no order code: ask for a digit.
            if allow_other and any(ch.isdigit() for ch in t):
                other = other or reading
        elif reading.problem is None:
            return reading
        else:
            with_problem = with_problem or reading
    return with_problem or other


def _read_url(text: str) -> _Reading:
    try:
        parts = urlsplit(text)
    except ValueError:
        return _Reading("url", (), reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[1]))
    if _DIGITAL_LINK_AI.search(parts.path) or parts.netloc.lower().endswith("id.gs1.org"):
        try:
            link = GS1DigitalLinkURI.parse(text)
        except BiipException:
            return _Reading("gs1-digital-link", (), reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[2]))
        return _read_elements(link.element_strings)
    params = parse_qsl(parts.query, keep_blank_values=False)
    if "?" in parts.fragment:
        # Single-page tracking sites put the query after the "#".
        params += parse_qsl(parts.fragment.split("?", 1)[1])
    named = [v for k, v in params if k.lower() in _TRACKING_PARAMS]
    values = [piece for v in named for piece in _URL_SPLIT.split(v)]
    found = _best(values, allow_other=True)
    if found is not None:
        return found
    # Otherwise the id is a path segment (track.amazon.com/tracking/TBA...) or some
    # other parameter; only a known format counts there, never a word like "track".
    segments = [unquote(s) for s in reversed(parts.path.split("/")) if s]
    others = [piece for _, v in params for piece in _URL_SPLIT.split(v)]
    found = _best(segments + others, allow_other=False)
    if found is not None:
        return found
    return _Reading("url", (), N_("web address without a tracking number this station knows"))


# Spaces are no separator: "9400 1112 0108 ..." is one number in a payload too.
_PAYLOAD_SPLIT = re.compile(r"[\x1d\x1e\x04\r\n\t,;|{}\[\]\"'=:<>()]+")


def _read_payload(text: str) -> _Reading:
    """A structured 2D payload (ISO/IEC 15434 "[)>", JSON, key=value): find a tracking id."""
    found = _best(_PAYLOAD_SPLIT.split(text), allow_other=False)
    if found is not None and found.problem is None:
        return found
    if text.startswith("[)>"):
        maxicode = _read_ups_maxicode(text)
        if maxicode is not None:
            return maxicode
    if found is not None:
        return found
    return _Reading("payload", (), reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[3]))


_FIELDS = re.compile(r"[\x1d\x1e\x04]")


def _read_ups_maxicode(text: str) -> _Reading | None:
    """UPS MaxiCode (ISO/IEC 15434 format 01): "1Z" + 8 in one field, then the SCAC, then
    the shipper number; keyed by shipper and package, as every full 1Z number also is."""
    fields = [normalise(f) for f in _FIELDS.split(text)]
    for i, field in enumerate(fields[:-2]):
        if len(field) == 10 and field.startswith("1Z") and field.isascii() and field.isalnum():
            shipper = fields[i + 2]
            if len(shipper) == 6 and shipper.isascii() and shipper.isalnum():
                return _Reading("ups-maxicode", (_ups_short_key(shipper, field[2:]),))
    return None


# --- framing and dispatch ----------------------------------------------------------------

# Control characters removed anywhere. GS, RS and EOT carry meaning (FNC1, ISO/IEC 15434
# separators); CR and LF inside a scan separate the lines of a 2D payload, or two scans.
_KEEP = (0x1D, 0x1E, 0x04, 0x0D, 0x0A)
_STRAY = {c: None for c in range(0x20) if c not in _KEEP}
_STRAY.update({c: None for c in range(0x7F, 0xA0)})
_STRAY.update({0xFEFF: None, 0x200B: None})
# Stripped from both ends; not GS, because a leading GS is FNC1 in first position.
_EDGE = "".join(chr(c) for c in range(0x21) if c != 0x1D) + "\x7f\u00a0\ufeff"
_SEPARATORS = GS + RS + EOT
_LINES = re.compile(r"[\r\n]+")
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def _decode(data: bytes | str) -> tuple[str, bool]:
    if isinstance(data, str):
        return data, True
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        # latin-1 maps every byte: framing and C1 control bytes can still be stripped
        # and a readable code inside is not lost; anything left outside ASCII fails.
        return data.decode("latin-1"), False


def _unframe(text: str, framing: Framing) -> str:
    text = text.strip(_EDGE)
    for prefix in sorted(framing.prefixes, key=len, reverse=True):
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :].strip(_EDGE)
            break
    for suffix in sorted(framing.suffixes, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)].strip(_EDGE)
            break
    return text


def identify(data: bytes | str, framing: Framing | None = None) -> Identity:
    """What a scan names: a parcel code, one of the station's codes, or why neither.

    Never raises. ``framing`` holds a scanner's programmed prefixes, suffixes and FNC1
    stand-in; CR/LF/TAB, spaces, stray control characters and AIM identifiers are
    always handled.
    """
    try:
        return _identify(data, framing or DEFAULT_FRAMING)
    except Exception as exc:  # a scan must never crash the station: say so instead
        text = data.decode("latin-1") if isinstance(data, bytes) else str(data)
        return Unreadable(
            _shown(text[:80]), reasons.NOT_KNOWN_BECAUSE(why=reasons.INTERNAL_ERROR(name=type(exc).__name__))
        )


def _identify(data: bytes | str, framing: Framing) -> Identity:
    text, utf8 = _decode(data)
    if len(text) > MAX_SCAN_LENGTH * 4:
        return Unreadable(_shown(text[:40]) + "…", reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[4]))
    text = _unframe(text, framing).translate(_STRAY).strip(_EDGE)
    if not text.strip(_SEPARATORS):
        return Unreadable("", N_("empty scan"))
    if len(text) > MAX_SCAN_LENGTH:
        return Unreadable(_shown(text[:40]) + "…", reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[4]))
    aim = ""
    if text[0] == "]" and _AIM.match(text):
        aim, text = text[:3], text[3:].lstrip(_EDGE)
        if not text.strip(_SEPARATORS):
            return Unreadable(aim, N_("empty scan"))
    if text[:4].upper() == STATION_PREFIX:
        return _read_station_code(text)
    if "\r" in text or "\n" in text:
        return _read_lines(text)
    if not utf8 and not text.isascii():
        return Unreadable(_shown(text), reasons.NOT_KNOWN_BECAUSE(why=reasons.NOT_KNOWN_WHY[5]))
    if framing.fnc1:
        text = text.replace(framing.fnc1, GS)
    reading = _dispatch(text, aim)
    if reading.keys:
        return ParcelCode(_shown(text), reading.keys, reading.format, reading.problem)
    return Unreadable(_shown(text), reading.problem or NOT_KNOWN)


_SHOWN: dict[int, str | None] = {**_STRAY, 0x1D: "<GS>", 0x1E: "<RS>", 0x04: "<EOT>", 0x0D: " ", 0x0A: " "}


def _shown(text: str) -> str:
    # ``text`` goes on the screen and into the event: separators made visible.
    return text.translate(_SHOWN)


def _dispatch(text: str, aim: str) -> _Reading:
    # Cheapest tests first: most scans are plain carrier numbers and never reach biip.
    lower = text[:8].lower()
    if lower.startswith(("http://", "https://", "www.")):
        # Before GS1: a GS1 QR code (]Q3) may carry a Digital Link URI.
        return _read_url(text if lower[0] == "h" else "https://" + text)
    if aim in _GS1_AIM or text[0] == GS:
        return _read_gs1(text)
    if text.startswith("[)>"):
        return _read_payload(text)
    if GS in text:
        first = text.split(GS, 1)[0]
        if _is_digits(first) and first.startswith(_GS1_START + ("01", "02")):
            return _read_gs1(text)
        return _read_payload(text)
    if text[0] == "(" and _is_digits(text[1:2]):
        return _read_hri(text)
    t = normalise(text)
    reading = _read_number(t)
    if reading.format != "other" or reading.keys:
        if reading.format == "other" and aim not in ("]C0", "]d1", "]Q1") and t.startswith(_GS1_START):
            # A GS1 string whose scanner dropped FNC1 and sends no AIM identifier.
            gs1 = _read_gs1(t)
            if gs1.keys:
                return gs1
        return reading
    if len(text) > 12 and any(ch in text for ch in "{}=;|:,"):
        # "TRACKING:1Z...", JSON, key=value: a 2D code's text around a tracking number.
        return _read_payload(text)
    return reading


def _read_lines(text: str) -> Identity:
    lines = [line for line in _LINES.split(text) if line.strip()]
    known = [line for line in lines if _read_number(normalise(line)).format != "other"]
    if len(known) > 1:
        return Unreadable(_shown(text), N_("two barcodes in one scan: scan one barcode at a time"))
    # One code among other lines: a 2D code's text, read like any structured payload.
    reading = _read_payload(text)
    if reading.keys:
        return ParcelCode(_shown(text), reading.keys, reading.format, reading.problem)
    return Unreadable(_shown(text), reading.problem or NOT_KNOWN)


def index_keys(code: str) -> tuple[str, ...]:
    """The keys under which a manifest code is stored.

    The same reading as a scan: ``identify(code)``'s keys (so a manifest SSCC written as
    ``(00) 1061...`` or ``00106...`` is stored under the 18 digits), then the code itself
    normalised. Any barcode printed for that code yields at least one of these keys.
    """
    base = normalise("".join(ch for ch in code if ch.isprintable()).strip())
    identity = identify(code)
    keys = identity.keys if isinstance(identity, ParcelCode) else ()
    if base:
        keys = (*keys, base)
    return tuple(dict.fromkeys(keys))
