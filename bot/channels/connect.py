"""Why a channel could not connect at start-up, in terms an administrator can act on.

A channel's ``start`` raises :class:`StartError` with a :class:`Fault`: the platform refused
the bot's token (nothing to retry), or the network failed in one of the ways a provincial
server meets (no route, connection refused, a DNS failure, the outbound proxy, a timeout, a
TLS failure), which are worth retrying. The transport's own exception is found on the chain
of causes (PTB's ``NetworkError`` and Zalo's ``ZaloApiError`` keep aiohttp's as their cause).
"""

from __future__ import annotations

import errno
import socket
from enum import Enum

import aiohttp


class TokenRefused(Exception):
    """The platform refused the bot's token: retrying cannot help."""


class Fault(Enum):
    """What went wrong when connecting to a platform."""

    BAD_TOKEN = "bad_token"
    NO_ROUTE = "no_route"
    REFUSED = "refused"
    DNS = "dns"
    PROXY = "proxy"
    TIMEOUT = "timeout"
    TLS = "tls"
    OTHER = "other"


class StartError(Exception):
    """A channel could not start; ``fault`` says why, ``detail`` in the transport's words."""

    def __init__(self, channel: str, fault: Fault, detail: str) -> None:
        super().__init__(f"{channel}: {fault.value}: {detail}")
        self.channel = channel
        self.fault = fault
        self.detail = detail

    @property
    def permanent(self) -> bool:
        """Tell whether retrying cannot help (the platform refused the token)."""
        return self.fault is Fault.BAD_TOKEN


NO_ROUTE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}


def network_fault(error: BaseException) -> Fault:
    """Classify a network failure by the first transport error on its chain of causes."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fault = _fault_of(current)
        if fault is not None:
            return fault
        current = current.__cause__ or current.__context__
    return Fault.OTHER


def _fault_of(error: BaseException) -> Fault | None:
    if isinstance(error, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return Fault.PROXY
    if isinstance(error, aiohttp.ClientSSLError):
        return Fault.TLS
    if isinstance(error, aiohttp.ClientConnectorError):
        return _os_fault(error.os_error) or Fault.OTHER
    if isinstance(error, TimeoutError):
        return Fault.TIMEOUT
    if isinstance(error, OSError):
        return _os_fault(error)
    return None


def _os_fault(error: OSError) -> Fault | None:
    if isinstance(error, socket.gaierror):
        return Fault.DNS
    if isinstance(error, ConnectionRefusedError):
        return Fault.REFUSED
    if isinstance(error, TimeoutError):
        return Fault.TIMEOUT
    if error.errno in NO_ROUTE_ERRNOS:
        return Fault.NO_ROUTE
    return None
