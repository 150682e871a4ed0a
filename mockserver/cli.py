"""The `mockserver` command: `serve` starts the simulator on a production WSGI server."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .app import default_fixture_dir
from .providers import KNOWN

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["main"]


def _parser(*, check_arguments: bool = True) -> argparse.ArgumentParser:
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
    if check_arguments:  # not for `serve`: importing the drift checker costs start-up time
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
    from .wsgi import build_app, collector_paused, freeze_heap, settings_to_env

    os.environ.update(settings_to_env(settings))
    with collector_paused():
        try:
            # Build here, in the parent, before the server listens: a bad spec, store or
            # fixture fails with its one-line message and exit code 2, not in a worker. This
            # also seeds a persistent store once, before the workers start.
            app = build_app()
        except Exception as exc:  # every set-up error carries its own explanation
            return _fail(str(exc))
        import multiprocessing

        from granian import Granian
        from granian.constants import Interfaces

        target_loader: Callable[[str], Flask] | None = None
        if multiprocessing.get_start_method() == "fork":
            # Every worker is forked from this process (granian's start method is
            # multiprocessing's): it serves the app built above instead of building it again.
            # The memory store's worker gets a copy of the state (a worker respawned on SIGHUP
            # starts again from the seeded state, as a rebuild would); a shared store is
            # detached first, so each worker opens its own connections on first use.
            app.extensions["mockserver"].store.detach()
            freeze_heap()  # before the fork: see freeze_heap
            target_loader = _Prebuilt(app)
        else:  # spawned workers import mockserver.wsgi:app_from_env and build their own
            app.extensions["mockserver"].store.close()
            del app
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
    server.serve(target_loader=target_loader)
    return 0


class _Prebuilt:
    """Granian's target loader for a forked worker: the app the parent built, not a new one."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, target: str) -> Flask:
        return self.app


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(check_arguments=argv[:1] != ["serve"]).parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "check":
        from .drift import run

        return run(args)
    return _fail(f"unknown command {args.command}")  # pragma: no cover - argparse refuses first


if __name__ == "__main__":
    raise SystemExit(main())
