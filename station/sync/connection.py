"""How the station reaches the server: settings, the token, TLS, and the httpx client.

Owns the rules the issue sets for credentials and TLS: the token comes from a file
(``[server] token_file``, else the systemd credential ``$CREDENTIALS_DIRECTORY/station-token``),
never from the config or the command line, is re-read on a 401 and never logged or
repr'd; TLS is always verified, against a company CA file when one is configured.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Generator
from pathlib import Path
from typing import Any, Protocol

import httpx

from station.errors import SyncError
from station.sync.urls import url_problem

CREDENTIAL_NAME = "station-token"


class ServerSettings(Protocol):
    """What sync needs of ``station.config.ServerConfig`` (the ``[server]`` table)."""

    @property
    def url(self) -> str: ...
    @property
    def token_file(self) -> Path | None: ...
    @property
    def ca_file(self) -> Path | None: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def batch_size(self) -> int: ...


def token_path(server: ServerSettings) -> Path:
    if server.token_file is not None:
        return Path(server.token_file)
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        return Path(creds) / CREDENTIAL_NAME
    raise SyncError(
        "no server token: set [server] token_file, or pass the systemd credential "
        f"'{CREDENTIAL_NAME}' (LoadCredential=)"
    )


def read_token(server: ServerSettings) -> str:
    path = token_path(server)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SyncError(f"cannot read the server token file {path}: {exc.strerror or exc}") from exc
    if not token:
        raise SyncError(f"the server token file {path} is empty")
    return token


class BearerToken(httpx.Auth):
    """Bearer auth whose token can be re-read from its file after a 401.

    ``__repr__`` is overridden so the token never lands in a log line or a traceback.
    """

    def __init__(self, server: ServerSettings) -> None:
        problem = url_problem(server.url)
        if problem is not None:  # the token never leaves for a URL that would show it
            raise SyncError(f"[server] url: {problem}")
        self._server = server
        self._token = read_token(server)

    def reload(self) -> bool:
        """Re-read the token file; True when the token changed."""
        new = read_token(self._server)
        changed = new != self._token
        self._token = new
        return changed

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"


def tls_verify(server: ServerSettings) -> ssl.SSLContext | bool:
    """Always verify; a company CA file becomes an SSLContext (httpx 0.28 deprecates a path)."""
    if server.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(server.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise SyncError(f"cannot load the CA file {server.ca_file}: {exc}") from exc


def is_tls_error(exc: BaseException) -> bool:
    """A certificate or TLS-configuration failure, hidden in httpx.ConnectError's cause chain.

    A handshake cut short by the network (EOF, reset) is not one: flaky Wi-Fi must not
    stop sync, so those count as connection errors and are retried.
    """
    transient = (
        ssl.SSLEOFError,
        ssl.SSLZeroReturnError,
        ssl.SSLSyscallError,
        ssl.SSLWantReadError,
        ssl.SSLWantWriteError,
    )
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return not isinstance(seen, transient)
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


USER_AGENT = "hub-station-sync/1"


def client_options(server: ServerSettings, auth: BearerToken) -> dict[str, Any]:
    """The one HTTP client configuration, shared by the push (async) and the pull (sync) clients:
    the server's base URL, the bearer token, TLS always verified, the configured timeout."""
    return {
        "base_url": server.url.rstrip("/"),
        "auth": auth,
        "verify": tls_verify(server),
        "timeout": httpx.Timeout(server.timeout_s),
        "headers": {"User-Agent": USER_AGENT},
        # Redirects could carry the bearer token to another host: a config problem, not followed.
        "follow_redirects": False,
    }


def async_client(server: ServerSettings, auth: BearerToken) -> httpx.AsyncClient:
    """The push's and the screen's pull client: every request under one total deadline."""
    options = client_options(server, auth)
    # The TLS check lives on the transport; the deadline wraps it (the whole exchange, not per read).
    inner = httpx.AsyncHTTPTransport(verify=options.pop("verify"))
    return httpx.AsyncClient(**options, transport=DeadlineTransport(inner, server.timeout_s))


def client(server: ServerSettings) -> httpx.Client:
    """The pull's and the publish's client (rare, from the CLI or a screen's worker thread)."""
    return httpx.Client(**client_options(server, BearerToken(server)))


# -- what may carry the token, and for how long ------------------------------------------


class DeadlineTransport(httpx.AsyncBaseTransport):
    """A transport whose every request, answer body included, ends within ``deadline_s``.

    httpx's timeouts apply to each read: a server that accepts and never answers costs
    one read timeout, but one that trickles a byte a second never trips it. Here the whole
    exchange (connect, send, headers, body) runs under one ``asyncio.timeout``; past it the
    request is cancelled and reported as a timeout, which sync retries like any other.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, deadline_s: float) -> None:
        self._inner = inner
        self._deadline_s = deadline_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(self._deadline_s):
                response = await self._inner.handle_async_request(request)
                try:
                    # Raw bytes: the client decodes Content-Encoding once, from the headers kept below.
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within {self._deadline_s:g} s", request=request) from None
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
