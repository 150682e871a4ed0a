"""Where `mockserver serve` listens: --host as an address of this machine, its port claimed first.

The server (granian) binds each worker's socket with SO_REUSEPORT on Linux, so a second server
on a port already served would start without a word and the kernel would split the requests,
and the state, between the two. `claim_port` refuses that before anything is built: a plain
bind (no SO_REUSEPORT) fails on a port anyone listens on, and a guard held for the server's
lifetime keeps two `serve` started at the same moment from both passing that test.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys

__all__ = ["ListenError", "PortClaim", "claim_port", "is_loopback", "resolve_host"]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "localhost.localdomain"})


class ListenError(Exception):
    """The server cannot listen where asked; the message is the one line the user sees."""


def resolve_host(host: str) -> str:
    """The IP address to listen on for `--host`: an address as given, `localhost` as the IPv4
    loopback (granian takes addresses only), any other name as the system resolves it."""
    bare = host.strip()
    if bare.startswith("[") and bare.endswith("]"):  # [::1], as in a URL
        bare = bare[1:-1]
    if bare.lower() in LOOPBACK_NAMES:
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise ListenError(f"--host {host}: cannot resolve this name ({reason})") from None
    # IPv4 first: what `localhost`-style names mean to most clients, and granian's default.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class PortClaim:
    """Held from before the app is built until the server stops: see the module's docstring."""

    def __init__(self, guard: socket.socket | None) -> None:
        self.guard = guard

    def release(self) -> None:
        if self.guard is not None:
            self.guard.close()
            self.guard = None


def claim_port(host: str, address: str, port: int) -> PortClaim:
    """Refuse, with one line, a port that is in use or an address this machine does not have."""
    claim = PortClaim(_guard(address, port))
    try:
        _probe(host, address, port)
    except ListenError:
        claim.release()
        raise
    return claim


def _guard(address: str, port: int) -> socket.socket | None:
    """A Linux abstract socket named after the address and port: only one process can hold
    the name, the kernel frees it when the last holder exits (forked workers inherit it), and
    like the port itself it belongs to the network namespace. Elsewhere the probe alone."""
    if not sys.platform.startswith("linux"):
        return None
    guard = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        guard.bind(f"\0mockserver-serve/{address}/{port}")
    except OSError as exc:
        guard.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {address} is already in use by another mockserver; "
                "stop it or choose another --port"
            ) from None
        return None  # no abstract sockets here (a sandbox): the probe still tells
    return guard


def _probe(host: str, address: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR as every server sets it: a restart is not refused for the connections
        # of the previous run still in TIME_WAIT; a listening socket still refuses the bind.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            raise ListenError(_bind_failure(host, address, port, exc)) from None


def _bind_failure(host: str, address: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {address} is already in use; stop what listens there "
            "or choose another --port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        shown = host if host == address else f"{host} ({address})"
        return f"--host {shown} is not an address of this machine"
    if exc.errno == errno.EACCES:
        return f"port {port}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {address} port {port}: {exc.strerror or exc}"
