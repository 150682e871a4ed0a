"""The `mockserver` command: `serve` starts the simulator on a production WSGI server."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .app import ROOT, default_fixture_dir
from .credentials import MODES
from .listen import ListenError, claim_port, is_loopback, resolve_host
from .providers import KNOWN
from .proxy import check_upstream_url

if TYPE_CHECKING:
    from .rsgi import WsgiOnRsgi

__all__ = ["main", "whole_number"]

DISTRIBUTION = "consent-mockserver"


class _Parser(argparse.ArgumentParser):
    """argparse's refusals in the project's form: one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"mockserver: {message} (see '{self.prog} --help')\n")


IDLE_SECONDS = 15  # a keep-alive connection with no new request for this long is closed


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse `type` for a whole number in low..high, whose refusal says the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return parse


def version() -> str:
    """The installed distribution's version; in a checkout run without installing, the one in
    its pyproject.toml."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    import tomllib

    try:
        with (ROOT / "pyproject.toml").open("rb") as file:
            return f"{tomllib.load(file)['project']['version']} (not installed: {ROOT})"
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown (not installed)"


class _Version(argparse.Action):
    """`--version`, looked up only when asked (package metadata costs start-up time)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(f"mockserver {version()}\n")
        parser.exit(0)


def _parser(*, check_arguments: bool = True) -> argparse.ArgumentParser:
    parser = _Parser(prog="mockserver", description=__doc__)
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the simulator (all providers by default)")
    _serve_arguments(serve)
    check = sub.add_parser(
        "check",
        help="run the contract suite against a base URL and report drift from the spec",
    )
    if check_arguments:  # not for `serve`: importing the drift checker costs start-up time
        from .drift import add_arguments

        add_arguments(check, KNOWN)
    return parser


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--provider",
        action="append",
        choices=sorted(KNOWN),
        dest="providers",
        help="serve this provider (repeatable); default: every provider",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address or name to listen on (default 127.0.0.1; localhost is 127.0.0.1)",
    )
    serve.add_argument("--port", type=whole_number(1, 65535), default=4010, help="default 4010")
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
    serve.add_argument("--workers", type=whole_number(1), default=1, help="default 1")
    serve.add_argument(
        "--threads",
        type=whole_number(1),
        default=1,
        help="request threads per worker (default 1: requests run on the server's event "
        "loop, a delay fault waits there without stalling the others, a proxied provider's "
        "requests run on threads of their own; N: every request on N threads)",
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
    serve.add_argument(
        "--journal-size",
        type=whole_number(1),
        default=10_000,
        help="requests the journal keeps (default 10000)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=whole_number(1, 3600),
        default=IDLE_SECONDS,
        metavar="SECONDS",
        help=f"close a keep-alive connection idle this long (default {IDLE_SECONDS})",
    )
    serve.add_argument(
        "--log",
        choices=("none", "requests"),
        default="none",
        help="requests: a line per request on stdout, marked when it broke the contract "
        "(default none)",
    )
    serve.add_argument(
        "--proxy",
        action="append",
        type=_proxy_target,
        default=[],
        metavar="PROVIDER=URL",
        help="forward PROVIDER's requests to its live API at URL, checking each exchange "
        "against the spec (repeatable; docs/proxy.md)",
    )
    serve.add_argument(
        "--proxy-connect-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="give up connecting to a live provider after this long: 504 (default 5)",
    )
    serve.add_argument(
        "--proxy-read-timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="give up waiting for a live provider's answer after this long: 504 (default 30)",
    )
    serve.add_argument(
        "--record",
        default=None,
        metavar="DIR",
        help="write the consents seen in live answers to DIR/<provider>.yaml as fixtures, "
        "secrets and personal data replaced (needs --proxy)",
    )
    serve.add_argument(
        "--credentials",
        choices=MODES,
        default="open",
        help="open (default): any well-formed credential names a tenant; registered: only the "
        "fixtures' and those POSTed to /__admin/<provider>/credentials, others get the "
        "provider's 401",
    )
    serve.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the request log: auto (default) on a terminal unless NO_COLOR is set",
    )


def _proxy_target(text: str) -> tuple[str, str]:
    """An argparse `type` for --proxy: PROVIDER=URL, a known provider and an http(s) URL."""
    name, equals, url = text.partition("=")
    if not equals or name not in KNOWN:
        raise argparse.ArgumentTypeError(
            f"{text!r}: use PROVIDER=URL with PROVIDER one of {', '.join(sorted(KNOWN))}"
        )
    try:
        return name, check_upstream_url(url)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 3600, not {text}")
    return value


def _proxy_refusal(args: argparse.Namespace) -> str | None:
    """Why the --proxy and --record flags cannot work as given."""
    names = [name for name, _ in args.proxy]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        return f"--proxy {twice[0]} is given twice: one live base URL per provider"
    unserved = [name for name in names if args.providers and name not in args.providers]
    if unserved:
        return f"--proxy {unserved[0]}: not served; add --provider {unserved[0]}"
    if args.record is None:
        return None
    if not names:
        return "--record needs --proxy PROVIDER=URL: it records what live providers answer"
    if args.workers > 1:
        return "--record writes its files from one process: run it with --workers 1"
    folder = Path(args.record)
    if folder.exists() and not folder.is_dir():
        return f"--record {args.record}: not a folder"
    return None


def _fail(message: str) -> int:
    sys.stderr.write(f"mockserver: {message}\n")
    return 2


def _refusal(args: argparse.Namespace) -> str | None:
    """Why these serve flags cannot work together, before anything is resolved or built."""
    if args.store != "memory" and not args.store.startswith(("sqlite:", "redis://", "rediss://")):
        return f"--store {args.store}: use memory, sqlite:PATH or redis://HOST:PORT/DB"
    if args.workers > 1 and args.store == "memory":
        return (
            f"--workers {args.workers} needs a store that worker processes can share; the "
            "memory store lives inside one process, so each worker would see different "
            "consents. Use --store sqlite:PATH (e.g. --store sqlite:/tmp/mockserver.sqlite), "
            "--store redis://HOST:PORT/DB (workers on several hosts) or run --workers 1"
        )
    return _proxy_refusal(args)


def serve(args: argparse.Namespace) -> int:
    refusal = _refusal(args)
    if refusal:
        return _fail(refusal)
    try:
        address = resolve_host(args.host)
    except ListenError as exc:
        return _fail(str(exc))
    token = args.admin_token or os.environ.get("MOCKSERVER_ADMIN_TOKEN")
    if not is_loopback(address) and not token:
        return _fail(
            f"--host {args.host} exposes /__admin beyond this machine; set an admin "
            "token with --admin-token or MOCKSERVER_ADMIN_TOKEN"
        )
    try:
        # Before the app is built: a port in use is refused at once, not after seeding.
        claim = claim_port(args.host, address, args.port)
    except ListenError as exc:
        return _fail(str(exc))
    try:
        return _serve(args, address, _settings(args, token))
    finally:
        claim.release()


def _settings(args: argparse.Namespace, token: str | None) -> dict[str, object]:
    folder = args.fixtures or default_fixture_dir()
    return {
        "providers": args.providers,
        "fixtures": None if args.fixtures == "none" else str(Path(folder)),
        "admin_token": token,
        "strict": args.strict,
        "journal_size": args.journal_size,
        "store": args.store,
        "log": args.log,
        "color": args.log == "requests" and _wants_color(args.color),
        "proxy": dict(args.proxy),
        "proxy_timeout": [args.proxy_connect_timeout, args.proxy_read_timeout],
        "record": None if args.record is None else str(Path(args.record).resolve()),
        "credentials": args.credentials,
        "threads": args.threads,
    }


def _wants_color(choice: str) -> bool:
    from .requestlog import wants_color

    return wants_color(sys.stdout, choice)


# Granian's messages (granian.log.LOGGING_CONFIG's handlers, which write to stdout) on stderr
# with ours, so stdout carries the request log (`--log requests`) and nothing else.
_GRANIAN_TO_STDERR = {
    "handlers": {
        handler: {
            "formatter": formatter,
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        }
        for handler, formatter in (("console", "generic"), ("access", "access"))
    }
}


def _serve(args: argparse.Namespace, address: str, settings: dict[str, object]) -> int:
    from .wsgi import settings_to_env

    os.environ.update(settings_to_env(settings))
    try:
        target_loader = _prepare()
    except Exception as exc:  # every set-up error carries its own explanation
        return _fail(str(exc))
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    server = Granian(
        "mockserver.wsgi:rsgi_from_env",
        address=address,
        port=args.port,
        # RSGI: the app runs on each worker's event loop (mockserver.rsgi), where a delay
        # fault is waited out without holding the one thread; `--threads N` is its own pool.
        interface=Interfaces.RSGI,
        workers=args.workers,
        factory=True,
        log_access=False,
        log_dictconfig=_GRANIAN_TO_STDERR,
        blocking_threads=1,
        # A worker that dies (a crash, the OOM killer, a SIGKILL) is started again instead of
        # taking the whole server down with it.
        respawn_failed_workers=True,
        respawn_interval=0.5,
        # Granian admits this many connections per worker at once; idle keep-alive
        # connections hold their place, and with the default (1024 / workers) a thousand idle
        # clients stalled every new request. The file-descriptor limit is the real bound
        # (raised to its hard limit by _raise_fd_limit); idle keep-alive connections are
        # closed after --idle-timeout seconds.
        backpressure=max(1024, _raise_fd_limit() // args.workers),
        http1_settings=HTTP1Settings(header_read_timeout=args.idle_timeout * 1000),
    )
    sys.stderr.write(
        f"mockserver: serving {', '.join(args.providers or KNOWN)} on http://{args.host}:"
        f"{args.port} (admin: /__admin, sandbox: /__sandbox)\n"
    )
    for name, url in args.proxy:
        sys.stderr.write(f"mockserver: proxying /{name} to {url}\n")
    sys.stdout.flush()  # nothing buffered, to be written again by each forked worker
    server.serve(target_loader=target_loader)
    return 0


def _raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (the workers inherit it), so
    that many idle connections cannot exhaust it; the limit now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # not allowed here: keep what we have
            pass
    return soft if soft != resource.RLIM_INFINITY else 65536


def _prepare() -> Callable[[str], WsgiOnRsgi] | None:
    """Build the app here, in the parent, before the server listens: a bad spec, store or
    fixture fails with its one-line message and exit code 2, not in a worker. This also seeds
    a persistent store once, before the workers start. Returns granian's target loader."""
    import multiprocessing

    from .wsgi import build_app, collector_paused, freeze_heap, rsgi_app

    with collector_paused():
        app = build_app()
        if multiprocessing.get_start_method() == "fork":
            # Every worker is forked from this process (granian's start method is
            # multiprocessing's): it serves the app built above instead of building it again.
            # The memory store's worker gets a copy of the state (a worker respawned on SIGHUP
            # starts again from the seeded state, as a rebuild would); a shared store is
            # detached first, so each worker opens its own connections on first use.
            app.extensions["mockserver"].store.detach()
            freeze_heap()  # before the fork: see freeze_heap
            return _Prebuilt(rsgi_app(app))
        # spawned workers import mockserver.wsgi:app_from_env and build their own
        app.extensions["mockserver"].store.close()
        return None


class _Prebuilt:
    """Granian's target loader for a forked worker: the app the parent built, not a new one."""

    def __init__(self, app: WsgiOnRsgi) -> None:
        self.app = app

    def __call__(self, target: str) -> WsgiOnRsgi:
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
