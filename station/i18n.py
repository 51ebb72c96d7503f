"""The station's languages: gettext catalogs compiled into the package (station/locale).

Used by the screen, the labels and printed sheets, and the core's reason texts (marked with
``N_()``, kept English on the wire). Standard library only, so the scan path imports it cheaply.

Texts are marked with ``_()`` where they are shown, or with ``N_()`` where they are defined
before the language is known (tables, outcome words) and translated when shown; ``NC_()``
marks a word with a context, for a word that is translated differently elsewhere (an event
kind "sorted" against a column "sorted"). Reasons made with values are templates
(``station.reasons``), shown translated by ``station.reasons.shown``. The
catalogs are extracted and compiled with Babel (see docs/translations.md); English is the
source language and needs no catalog.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

DOMAIN = "station"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "fr")

_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_language(language: str) -> None:
    """Use ``language``'s catalog from now on; English (the source texts) needs none.

    Raises ValueError for a language the station does not ship.
    """
    global _translation
    _translation = translation(language)


@cache
def translation(language: str) -> gettext.NullTranslations:
    """``language``'s catalog, for texts made outside the screen (labels, printed sheets).

    Raises ValueError for a language the station does not ship.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not shipped: choose one of {', '.join(LANGUAGES)}")
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def current() -> gettext.NullTranslations:
    """The screen's catalog (the one ``set_language`` chose)."""
    return _translation


def _(message: str) -> str:
    return _translation.gettext(message)


def pgettext(context: str, message: str) -> str:
    return _translation.pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for extraction; it is translated later, where it is shown."""
    return message


def NC_(context: str, message: str) -> str:
    """Marks a word with its context for extraction (``pgettext`` translates it where it is shown)."""
    return message
