"""Which server URLs may carry the station's bearer token.

Owns the transport rule of docs/sync-protocol.md: HTTPS always, plain HTTP only to this
machine. Checked when the config is read (a ConfigError at start) and again before a token
is attached (:class:`station.sync.connection.BearerToken`). No httpx here: the config
loader imports this.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def url_problem(url: str) -> str | None:
    """Why the station must not send its bearer token to ``url``, or None.

    HTTPS always; plain HTTP only to this machine (a local proxy, the demo, tests): on
    any other address the token would cross the network in clear and anyone on the
    dock's Wi-Fi could read it and push or pull as this station.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        return f"{url!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return f"expected an https:// URL with a host, got {url!r}"
    if parts.scheme == "https" or _is_loopback(host):
        return None
    return (
        f"{url!r} is plain http to another machine: the station's token would cross the network "
        "unencrypted. Use https:// (a company CA goes in [server] ca_file), or http:// only to "
        "127.0.0.1 / localhost"
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
