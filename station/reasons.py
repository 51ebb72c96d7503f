"""The reasons the core writes with values in them, one template each, and how the screen shows any reason.

A reason is stored in the scan event and sent to the central server in English, exactly as
the template makes it (other tools read it): ``WRONG_VAN(van="V03", lane=3)`` is the text
``"WRONG VAN: this parcel goes in van V03 at lane 3"``. The screen never stores what it shows:
:func:`shown` takes a stored reason, finds the template that made it (or the fixed reason,
marked ``N_()`` where the core defines it), and formats that template's translation with the
same values. A translation that lost or renamed a ``{field}`` is not used: the English is
shown instead, and the log says so once.

The status line's troubles (a printer's report, a failed feedback device) are made the same way:
English where they are logged or printed by the CLI, translated where the screen shows them.

Every template is defined here, once; the modules that write them (sorting, loading, dock,
barcodes, printing, feedback) call them. Standard library only: the scan path imports it.
"""

from __future__ import annotations

import gettext
import logging
import re
import string
from dataclasses import dataclass, field
from functools import cached_property

from station.i18n import N_, NC_

log = logging.getLogger(__name__)

TEMPLATES: list[Template] = []  # in definition order: the first that matches a stored reason made it
_warned: set[tuple[str, str]] = set()


def fields_of(text: str) -> set[str]:
    """The ``{field}`` names in a template (or in its translation). ValueError if the braces are broken."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True, eq=False)
class Template:
    """A reason with values: its English text (the stored one) and how its values are shown.

    ``nested``: fields whose value is itself a reason (shown translated too).
    ``words``: fields whose value is a word of a closed list, with the gettext context it is
    translated in (an event kind: "sorted", "loaded").
    ``patterns``: what a field's value looks like, where "the shortest text" would read a stored
    text wrongly (a fault that holds a comma, before a count of labels).
    """

    english: str
    nested: tuple[str, ...] = ()
    words: dict[str, str] = field(default_factory=dict)
    patterns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        TEMPLATES.append(self)

    def __call__(self, **values: object) -> str:
        """The English reason, as stored and sent."""
        return self.english.format(**values)

    @cached_property
    def fields(self) -> set[str]:
        return fields_of(self.english)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        parts, seen = [], set()
        for literal, name, _spec, _conversion in string.Formatter().parse(self.english):
            parts.append(re.escape(literal))
            if name is None:
                continue
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>{self.patterns.get(name, '.+?')})")
            seen.add(name)
        return re.compile("".join(parts), re.DOTALL)

    def values_in(self, text: str) -> dict[str, str] | None:
        """The values this template was filled with to make ``text``; None if it did not make it."""
        match = self._pattern.fullmatch(text)
        return None if match is None else match.groupdict()

    def shown(self, values: dict[str, str], translation: gettext.NullTranslations) -> str:
        """This reason in ``translation``'s language; in English if the translation cannot take the values."""
        shown_values = dict(values)
        for name in self.nested:
            shown_values[name] = shown(values[name], translation)
        for name, context in self.words.items():
            shown_values[name] = translation.pgettext(context, values[name])
        translated = translation.gettext(self.english)
        try:
            if fields_of(translated) == self.fields:
                return translated.format(**shown_values)
        except (ValueError, KeyError, IndexError):
            pass
        if (self.english, translated) not in _warned:
            _warned.add((self.english, translated))
            log.warning("translation %r does not take the fields of %r: shown in English", translated, self.english)
        return self.english.format(**values)


def shown(reason: str | None, translation: gettext.NullTranslations) -> str:
    """A stored reason in ``translation``'s language: a fixed one from the catalog, a made one by its template.

    A reason no template made (a planner's note, an older station's wording) is shown as written.
    """
    if not reason:
        return ""
    fixed = translation.gettext(reason)
    if fixed != reason:
        return fixed
    for template in TEMPLATES:
        values = template.values_in(reason)
        if values is not None:
            return template.shown(values, translation)
    return reason


# ---- sorting and loading (station.sorting, station.loading) ------------------------------------

STATION_CODE_SCANNED = Template(N_("station code: {kind} {value}"))
NOT_IN_PLAN = N_("not in the plan")
NOT_PLANNED_SORT = Template(
    N_("not planned ({why}): put it in the exception lane and tell the hub lead"), nested=("why",)
)
NOT_PLANNED_LOAD = Template(N_("not planned ({why}): do not load, tell the hub lead"), nested=("why",))
WRONG_VAN = Template(N_("WRONG VAN: this parcel goes in van {van} at lane {lane}"))
VAN_DEPARTED = Template(N_("van {van} is closed (departed): keep the parcel, tell the hub lead"))

# ---- station codes and commands (station.dock) -------------------------------------------------

NO_SUCH_VAN = Template(N_("no van {van} today: nothing changed"))
NOW_LOADS = Template(N_("this scanner now loads van {van} at lane {lane}"))
UNKNOWN_COMMAND = Template(N_("unknown command {command}: nothing changed"))
PARCEL_FIRST = Template(N_("scan the parcel first, then {command}: nothing changed"))
VAN_CODE_FIRST = Template(N_("scan the van's code first: {command} is for the van this scanner loads"))
CLOSE_NOT_ALL_LOADED = Template(N_("{n} parcels of {van} not loaded: scan CLOSE again to close anyway"))
CLOSE_ALL_LOADED = Template(N_("every parcel of {van} is loaded: scan CLOSE again to close it"))
NOTHING_TO_REOPEN = Template(N_("van {van} is open: nothing to reopen"))
REOPENED = Template(N_("van {van} reopened: {n} parcels back at lane {lane}"))
# UNDO names what it undid: an event kind (station.model.EventKind's values), translated as a word.
UNDONE_PARCEL = Template(N_("undone: {kind} {parcel}"), words={"kind": "event"})
UNDONE = Template(N_("undone: {kind}"), words={"kind": "event"})
EVENT_WORDS = (
    NC_("event", "arrived"),
    NC_("event", "sorted"),
    NC_("event", "repeat"),
    NC_("event", "loaded"),
    NC_("event", "misload"),
    NC_("event", "exception"),
    NC_("event", "cancelled"),
    NC_("event", "reprinted"),
    NC_("event", "resolved"),
    NC_("event", "returned"),
)
ALREADY_CLOSED = Template(N_("van {van} is already closed"))
CLOSED = Template(N_("van {van} closed: {departed} parcels departed, {not_loaded} planned parcels not loaded"))
DEPARTED = Template(N_("departed in van {van}"))
REASSIGNED = Template(N_("reassigned to van {van} at lane {lane}"))
# The hub lead's refusals (errors, shown in a toast; not stored).
NOT_ON_MANIFEST = Template(N_("parcel {parcel} is not on the manifest"))
NOT_PLANNED_RELABEL = Template(N_("parcel {parcel} is not planned: reassign it to a van instead"))
REASSIGN_TO_CLOSED = Template(
    N_("van {van} is closed and gone: reopen it first (station reopen-van {van}) or choose another")
)

# ---- barcodes (station.barcodes): why a scan names no parcel --------------------------------

NOT_KNOWN = N_("not a barcode this station knows")
NOT_KNOWN_BECAUSE = Template(N_("not a barcode this station knows ({why})"), nested=("why",))
NOT_KNOWN_WHY = (
    N_("GS1 data not readable"),
    N_("web address not readable"),
    N_("GS1 Digital Link not readable"),
    N_("no tracking number in the 2D code"),
    N_("far too long"),
    N_("scanner sent bytes that are not text"),
)
INTERNAL_ERROR = Template(N_("internal error: {name}"))
CHECK_WRONG = Template(N_("check digit wrong: expected {expected}, got {got}"))
UPS_TRUNCATED = Template(N_("truncated: UPS 1Z number needs 18 characters, got {n}"))
SSCC_TRUNCATED = Template(N_("truncated: SSCC needs 18 digits, got {n}"))
AMAZON_LENGTH = Template(N_("Amazon TBA number should have 12 digits, got {n}"))
COUNTRY_UNKNOWN = Template(N_("country code {code} unknown"))
POSTAL_ONLY = Template(N_("ship-to postal code only ({postal}): scan the tracking barcode"))
STATION_CODE_NOT_RECOGNISED = N_("station code not recognised")
STATION_CODE_WRONG = Template(N_("station code not recognised: {why}"), nested=("why",))
LANE_NOT_A_NUMBER = N_("lane must be a number from 1 up")
VAN_ID_WRONG = N_("van id must be letters, digits, '.', '_' or '-'")
COMMAND_WRONG = N_("command must be a word of letters, digits or '_'")

# ---- the status line: printers (station.printing) and the loader's feedback (station.feedback) ----

LABEL_WAITING = Template(N_("{n} label waiting"), patterns={"n": "1"})
LABELS_WAITING = Template(N_("{n} labels waiting"), patterns={"n": r"\d+"})
_WAITING = r"\d+ labels? waiting"
PRINTER_FAULT = Template(
    N_("printer {name}: {fault}, {waiting}"), nested=("fault", "waiting"), patterns={"waiting": _WAITING}
)
PRINTER_BACK = Template(
    N_("printer {name} is back: printing {waiting} in scan order"), nested=("waiting",), patterns={"waiting": _WAITING}
)
PRINTER_STATE = Template(N_("printer {name}: {state}"), nested=("state",))
PRINTER_READY = Template(N_("printer {name} ready"))
LAST_LABEL_CHECK = N_("last label not confirmed, check it (a REPRINT follows)")
LAST_LABEL_NOT_CONFIRMED = Template(N_("{state}, last label not confirmed (a REPRINT follows)"), nested=("state",))
FEEDBACK_FAILED = Template(N_("{device} FAILED ({why})"), nested=("device", "why"))
FEEDBACK_SOUND = N_("sound")
FEEDBACK_SCANNER = Template(N_("scanner {name} commands"))
FEEDBACK_RELAY = Template(N_("relay {name}"))
