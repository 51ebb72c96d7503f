"""The receivers' tracking page as HTML (station.central.tracking_page): the language chosen,
the status big, the timeline newest first, nothing loaded from elsewhere, everything escaped."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from station.central.tracking import Delivery, Listing, StationEvent, derive
from station.central.tracking_page import CSP, choose_language, form_page, tracking_page

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "query, header, lang",
    [
        (None, None, "en"),
        (None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, "de-DE,en;q=0.5,fr;q=0.7", "fr"),
        (None, "en-GB,fr", "en"),
        (None, "fr;q=0, en;q=0.1", "en"),
        (None, "de", "en"),
        ("fr", "en", "fr"),
        ("en", "fr", "en"),
        ("xx", "fr", "fr"),
        (None, "fr;q=abc", "en"),
    ],
)
def test_language_from_query_then_accept_language(query: str | None, header: str | None, lang: str) -> None:
    assert choose_language(query, header) == lang


def parcel(tracking_id: str = "P1"):
    def ev(kind: str, seq: int, minutes: int, reason: str | None = None) -> StationEvent:
        return StationEvent(
            str(uuid.uuid4()), "S1", seq, kind, T0 + timedelta(minutes=minutes), True, tracking_id, "Lyon", "d", reason
        )

    events = [ev("sorted", 1, 0), ev("exception", 2, 5, "damaged"), ev("resolved", 3, 20), ev("loaded", 4, 30)]
    delivered = Delivery(str(uuid.uuid4()), tracking_id, "delivered", T0 + timedelta(hours=4), received_by="Zoé")
    return derive(tracking_id, Listing(tracking_id, "69007", "Lyon", T0 - timedelta(hours=9)), events, [delivered])


def test_the_page_shows_the_status_big_and_the_timeline_newest_first() -> None:
    found = parcel()
    html = tracking_page(found, "fr", postal_code="69007", photo=("image/png", b"\x89PNG..."), zone="Europe/Paris")
    assert '<html lang="fr">' in html
    assert re.search(r'id="status">Livré<', html)
    items = re.findall(r"<li><b>([^<]+)</b>", html)
    assert items == [
        "Livré",
        "Chargé dans le camion",
        "Au centre de tri",
        "Retardé",
        "Au centre de tri",
        "Annoncé par l’expéditeur",
    ]
    assert "endommagé" in html and "Zoé" in html
    assert "2026-11-25 11:00" in html  # 10:00 UTC in Paris
    assert 'src="data:image/png;base64,' in html
    assert "lang=en" in html  # the link to the other language


def test_the_page_loads_nothing_from_elsewhere_and_escapes_everything() -> None:
    found = parcel('<script>alert("x")</script>')
    html = tracking_page(found, "en", postal_code='"><b>')
    assert "<script>" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'none'" in CSP
    assert '"><b>' not in html
    form = form_page("en", tracking_id='"><img src=x>', error="No parcel matches")
    assert '"><img' not in form and 'role="alert"' in form


def test_a_failed_attempt_without_photo_shows_no_empty_delivery_box() -> None:
    listing = Listing("P1", "69007", "Lyon", T0)
    attempt = Delivery(str(uuid.uuid4()), "P1", "failed_attempt", T0 + timedelta(hours=2), reason="nobody at home")
    found = derive("P1", listing, [], [attempt])
    assert found is not None
    html = tracking_page(found, "en", postal_code="69007")
    assert "<h2>Delivery</h2>" not in html and "Delivery attempted" in html and "nobody at home" in html
