"""The receivers' tracking page: server-rendered HTML, English and French, phone first.

Owns the words a receiver reads (status names, descriptions, exception reasons, in both
languages), the choice of language (``?lang=`` first, then ``Accept-Language`` with its
q-values, English by default) and the page itself: one HTML document with its CSS inline
and the delivery photo as a ``data:`` URI, so it loads nothing from anywhere
(Content-Security-Policy ``default-src 'none'`` says so to the browser too) and the photo
exists at no URL of its own. Every value is HTML-escaped.
"""

from __future__ import annotations

import base64
from datetime import datetime
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from station.central.tracking import CANCELLED, DESCRIPTIONS, EXCEPTION_WORDS, HELD, Entry, Status, Tracking

LANGUAGES = ("en", "fr")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Track a parcel",
        "tracking_id": "Tracking number",
        "postal_code": "Postal code of the delivery address",
        "submit": "Track",
        "not_found": "No parcel matches this tracking number and postal code. Check both and try again.",
        "history": "History",
        "delivery": "Delivery",
        "received_by": "Received by: ",
        "photo": "Photo taken at delivery",
        "approximate": "approximate time",
        "times_in": "Times in",
        "too_many": "Too many requests: wait a minute and try again.",
        "other_language": "Français",
    },
    "fr": {
        "title": "Suivre un colis",
        "tracking_id": "Numéro de suivi",
        "postal_code": "Code postal de l’adresse de livraison",
        "submit": "Suivre",
        "not_found": "Aucun colis ne correspond à ce numéro et à ce code postal. Vérifiez-les et réessayez.",
        "history": "Historique",
        "delivery": "Livraison",
        "received_by": "Reçu par : ",
        "photo": "Photo prise à la livraison",
        "approximate": "heure approximative",
        "times_in": "Heures en",
        "too_many": "Trop de demandes : attendez une minute et réessayez.",
        "other_language": "English",
    },
}

STATUS_WORDS: dict[str, dict[Status, str]] = {
    "en": {
        Status.INFO_RECEIVED: "Announced by the sender",
        Status.AT_HUB: "At the hub",
        Status.LOADED: "Loaded in the van",
        Status.OUT_FOR_DELIVERY: "Out for delivery",
        Status.EXCEPTION: "Delayed",
        Status.RETURNED_TO_SENDER: "Returned to the sender",
        Status.FAILED_ATTEMPT: "Delivery attempted",
        Status.DELIVERED: "Delivered",
    },
    "fr": {
        Status.INFO_RECEIVED: "Annoncé par l’expéditeur",
        Status.AT_HUB: "Au centre de tri",
        Status.LOADED: "Chargé dans le camion",
        Status.OUT_FOR_DELIVERY: "En cours de livraison",
        Status.EXCEPTION: "Retardé",
        Status.RETURNED_TO_SENDER: "Retourné à l’expéditeur",
        Status.FAILED_ATTEMPT: "Tentative de livraison",
        Status.DELIVERED: "Livré",
    },
}

DESCRIPTION_WORDS: dict[str, dict[str, str]] = {
    # English is the API's own wording (station.central.tracking), so the page and the API never differ.
    "en": {
        **{str(status): text for status, text in DESCRIPTIONS.items()},
        **dict(EXCEPTION_WORDS.values()),
        HELD[0]: HELD[1],
        CANCELLED[0]: CANCELLED[1],
    },
    "fr": {
        Status.INFO_RECEIVED: "L’expéditeur nous a annoncé le colis.",
        Status.AT_HUB: "Le colis est au centre de tri.",
        Status.LOADED: "Le colis est chargé dans le camion de livraison.",
        Status.OUT_FOR_DELIVERY: "Le colis est en cours de livraison.",
        Status.RETURNED_TO_SENDER: "Le colis repart chez l’expéditeur.",
        Status.FAILED_ATTEMPT: "Nous avons tenté de livrer le colis.",
        Status.DELIVERED: "Le colis a été livré.",
        "damaged": "Le colis a été endommagé ; le centre de tri s’en occupe.",
        "address_unreadable": "L’adresse sur le colis est illisible.",
        "refused": "Le colis a été refusé.",
        "missing_label": "L’étiquette du colis manque ; le centre de tri l’étiquette à nouveau.",
        "cancelled": "L’expéditeur a annulé cet envoi.",
        "held": "Le colis est retenu au centre de tri pour une vérification.",
    },
}

# A status's colour band: green when done, amber when something went wrong, blue otherwise.
_TONE = {
    Status.DELIVERED: "#1b7f3b",
    Status.EXCEPTION: "#a15c00",
    Status.FAILED_ATTEMPT: "#a15c00",
    Status.RETURNED_TO_SENDER: "#a15c00",
}

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # The postal code is in the address: never send it to another site, never cache it.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c1c1c;background:#f4f4f2}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.1rem;margin:.2rem 0 1rem;color:#444}
.now{color:#fff;border-radius:.6rem;padding:1.1rem 1rem;margin-bottom:1rem}
.now .status{font-size:2.1rem;font-weight:700;line-height:1.15}
.now p{margin:.4rem 0 0;font-size:1.05rem}
.id{font-family:ui-monospace,monospace;opacity:.9;font-size:.95rem}
section{background:#fff;border-radius:.6rem;padding:.8rem 1rem;margin-bottom:1rem}
h2{font-size:1rem;margin:0 0 .5rem}
ol{list-style:none;margin:0;padding:0}
li{border-left:3px solid #c9c9c4;padding:.1rem 0 .8rem .8rem;position:relative}
li:first-child{border-left-color:#2a5db0}
li b{display:block}
li small{color:#555}
img{max-width:100%;height:auto;border-radius:.4rem;margin-top:.5rem}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input{width:100%;font-size:1.1rem;padding:.6rem;border:1px solid #999;border-radius:.4rem}
button{margin-top:1rem;width:100%;font-size:1.15rem;padding:.7rem;border:0;border-radius:.4rem;background:#2a5db0;
color:#fff}
.error{background:#fde8e8;color:#7a1010;padding:.7rem;border-radius:.4rem}
nav{text-align:right;font-size:.95rem}
nav a{color:#2a5db0}
"""


def choose_language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` when it is one we have; else the best of Accept-Language; else English."""
    if query_lang and query_lang.lower()[:2] in LANGUAGES:
        return query_lang.lower()[:2]
    best, best_q = "en", -1.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        code = tag.strip().lower()[:2]
        # Earlier wins a tie, as the header lists preferences in order.
        if code in LANGUAGES and q > 0 and q - position * 1e-6 > best_q:
            best, best_q = code, q - position * 1e-6
    return best


def _time(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _page(lang: str, title: str, body: str, switch_href: str) -> str:
    w = WORDS[lang]
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>"
        f'<nav><a href="{escape(switch_href)}" hreflang="{"fr" if lang == "en" else "en"}">'
        f"{escape(w['other_language'])}</a></nav>{body}</main></body></html>"
    )


def form_page(lang: str, *, tracking_id: str = "", error: str | None = None) -> str:
    w = WORDS[lang]
    other = "fr" if lang == "en" else "en"
    notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>{escape(w['title'])}</h1>{notice}"
        '<section><form method="get" action="/track">'
        f'<input type="hidden" name="lang" value="{lang}">'
        f'<label for="id">{escape(w["tracking_id"])}</label>'
        f'<input id="id" name="id" required maxlength="64" autocomplete="off" value="{escape(tracking_id)}">'
        f'<label for="pc">{escape(w["postal_code"])}</label>'
        '<input id="pc" name="postal_code" required maxlength="16" autocomplete="postal-code">'
        f'<button type="submit">{escape(w["submit"])}</button></form></section>'
    )
    return _page(lang, w["title"], body, f"/track?lang={other}")


def describe(entry: Entry, lang: str) -> str:
    words = DESCRIPTION_WORDS[lang]
    text = words.get(entry.reason or entry.status, entry.description) if entry.reason else words.get(entry.status)
    text = text or entry.description
    if entry.detail:
        text = f"{text} ({entry.detail})"
    return text


def tracking_page(
    found: Tracking,
    lang: str,
    *,
    postal_code: str,
    photo: tuple[str, bytes] | None = None,
    zone: str = "UTC",
) -> str:
    """The page of one parcel: its status big, the timeline below (newest first)."""
    w = WORDS[lang]
    tz = ZoneInfo(zone)
    latest = found.events[-1]
    other = "fr" if lang == "en" else "en"
    status_name = STATUS_WORDS[lang][found.status]
    rows = []
    for entry in reversed(found.events):
        mark = f" · {escape(w['approximate'])}" if entry.approximate else ""
        place = f" · {escape(entry.place)}" if entry.place else ""
        rows.append(
            f"<li><b>{escape(STATUS_WORDS[lang][entry.status])}</b>{escape(describe(entry, lang))}<br>"
            f'<small><time datetime="{entry.time.isoformat()}">{_time(entry.time, tz)}</time>{mark}{place}'
            "</small></li>"
        )
    delivery = ""
    if found.delivery is not None:
        d = found.delivery
        parts = [f"<h2>{escape(w['delivery'])}</h2>"]
        if d.received_by:
            parts.append(f"<p>{escape(w['received_by'])}{escape(d.received_by)}</p>")
        if photo is not None:
            media_type, data = photo
            encoded = base64.b64encode(data).decode()
            parts.append(f'<img alt="{escape(w["photo"])}" src="data:{media_type};base64,{encoded}">')
        if len(parts) > 1:  # a failed attempt without photo has nothing to show here
            delivery = f"<section>{''.join(parts)}</section>"
    body = (
        f"<h1>{escape(w['title'])}</h1>"
        f'<div class="now" style="background:{_TONE.get(found.status, "#2a5db0")}">'
        f'<div class="id">{escape(found.tracking_id)}</div>'
        f'<div class="status" id="status">{escape(status_name)}</div>'
        f"<p>{escape(describe(latest, lang))}</p></div>"
        f"{delivery}"
        f'<section><h2>{escape(w["history"])}</h2><ol id="timeline">{"".join(rows)}</ol>'
        f"<p><small>{escape(w['times_in'])} {escape(zone)}</small></p></section>"
    )
    switch = f"/track/{quote(found.tracking_id, safe='')}?postal_code={quote(postal_code, safe='')}&lang={other}"
    return _page(lang, f"{status_name} — {found.tracking_id}", body, switch)
