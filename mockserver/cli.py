"""The `mockserver` command: `serve` starts the simulator on a production WSGI server."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .app import default_fixture_dir
from .providers import KNOWN

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the simulator (all providers by default)")
    serve.add_argument(
        "--provider",
        action="append",
        choices=sorted(KNOWN),
        dest="providers",
        help="serve this provider (repeatable); default: every provider",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4010)
    serve.add_argument(
        "--store",
        default="memory",
        help="memory (default, one process) or sqlite:PATH (persistent, shared by --workers)",
    )
    serve.add_argument(
        "--fixtures",
        default=None,
        help="folder of <provider>.yaml fixtures, or 'none' (default: fixtures/)",
    )
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--threads",
        type=int,
        default=4,
        help="request threads per worker (default 4: a delay fault on one request "
        "does not stall the others; 1 gives the lowest p99 under load)",
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        help="required on a non-loopback --host (or MOCKSERVER_ADMIN_TOKEN)",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        help="check every response against the spec (a mismatch becomes a 500)",
    )
    serve.add_argument("--journal-size", type=int, default=10_000)
    check = sub.add_parser(
        "check",
        help="run the contract suite against a base URL and report drift from the spec",
    )
    from .drift import add_arguments

    add_arguments(check, KNOWN)
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(f"mockserver: {message}\n")
    return 2


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    if args.store != "memory" and not args.store.startswith(("sqlite:", "redis://", "rediss://")):
        return _fail(f"--store {args.store}: use memory, sqlite:PATH or redis://HOST:PORT/DB")
    if args.workers < 1:
        return _fail("--workers must be at least 1")
    if args.workers > 1 and args.store == "memory":
        return _fail(
            f"--workers {args.workers} needs a store that worker processes can share; the "
            "memory store lives inside one process, so each worker would see different "
            "consents. Use --store sqlite:PATH (e.g. --store sqlite:/tmp/mockserver.sqlite), "
            "--store redis://HOST:PORT/DB (workers on several hosts) or run --workers 1"
        )
    token = args.admin_token or os.environ.get("MOCKSERVER_ADMIN_TOKEN")
    if not _is_loopback(args.host) and not token:
        return _fail(
            f"--host {args.host} exposes /__admin beyond this machine; set an admin "
            "token with --admin-token or MOCKSERVER_ADMIN_TOKEN"
        )
    folder = args.fixtures or default_fixture_dir()
    fixtures = None if args.fixtures == "none" else str(Path(folder))
    settings = {
        "providers": args.providers,
        "fixtures": fixtures,
        "admin_token": token,
        "strict": args.strict,
        "journal_size": args.journal_size,
        "store": args.store,
    }
    from .wsgi import app_from_env, settings_to_env

    os.environ.update(settings_to_env(settings))
    try:
        # Fail here, in the parent, on a bad spec, store or fixture: not in a worker. This also
        # seeds a persistent store once, before the workers start.
        app_from_env().extensions["mockserver"].store.close()
    except Exception as exc:  # every set-up error carries its own explanation
        return _fail(str(exc))
    from granian import Granian
    from granian.constants import Interfaces

    server = Granian(
        "mockserver.wsgi:app_from_env",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        factory=True,
        log_access=False,
        blocking_threads=max(1, args.threads),
    )
    sys.stderr.write(
        f"mockserver: serving {', '.join(args.providers or KNOWN)} on http://{args.host}:"
        f"{args.port} (admin: /__admin, sandbox: /__sandbox)\n"
    )
    server.serve()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "check":
        from .drift import run

        return run(args)
    return _fail(f"unknown command {args.command}")  # pragma: no cover - argparse refuses first


if __name__ == "__main__":
    raise SystemExit(main())
