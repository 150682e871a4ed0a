"""`mockserver check`: run the contract suite against any base URL and report drift from the spec.

The suite is Schemathesis's, as `schemathesis.toml` configures it (phases, checks, per-operation
exceptions, and the hooks that add our checks and sign in through each provider's own
endpoints). Every failure is grouped by operation and told as what differs from the spec:
status codes, headers, content types, schema paths; the exit status is 1 when anything drifts.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .app import ROOT, default_spec_dir

__all__ = ["Difference", "DriftReport", "add_arguments", "check", "run"]

PHASES = ("examples", "coverage", "fuzzing", "stateful")
CONFIG_NAME = "schemathesis.toml"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Difference:
    """One way an answer differed from the spec: `kind` is status, header, content-type, ..."""

    kind: str
    detail: str


@dataclass(slots=True)
class OperationDrift:
    label: str
    operation_id: str | None
    differences: dict[Difference, str] = field(default_factory=dict)  # → a curl to reproduce


@dataclass(slots=True)
class DriftReport:
    provider: str
    url: str
    spec: Path
    operations: list[str] = field(default_factory=list)
    requests: int = 0
    drift: dict[str, OperationDrift] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # what kept an operation from being checked
    notes: list[str] = field(default_factory=list)  # about the run, not the target

    @property
    def drifted(self) -> bool:
        return bool(self.drift)

    @property
    def exit_status(self) -> int:
        """1: the target drifts from the spec; 2: it could not be checked; 0: it keeps it."""
        return 1 if self.drift else 2 if self.errors else 0

    def add(self, label: str, operation_id: str | None, diff: Difference, curl: str) -> None:
        entry = self.drift.setdefault(label, OperationDrift(label, operation_id))
        entry.differences.setdefault(diff, curl)

    def render(self, out: TextIO, *, verbose: bool = False) -> None:
        out.write(
            f"mockserver check: {self.provider} at {self.url}\n"
            f"  spec {self.spec}; {len(self.operations)} operations, {self.requests} requests\n"
        )
        for note in self.notes:
            out.write(f"note: {note}\n")
        for error in self.errors:
            out.write(f"ERROR {error}\n")
        if not self.drift:
            if not self.errors:
                out.write("No drift: every answer matched the spec.\n")
            return
        out.write(f"DRIFT in {len(self.drift)} of {len(self.operations)} operations:\n")
        for label in sorted(self.drift):
            entry = self.drift[label]
            name = f" ({entry.operation_id})" if entry.operation_id else ""
            out.write(f"\n{label}{name}\n")
            for diff, curl in sorted(entry.differences.items(), key=lambda i: _rank(i[0])):
                out.write(f"  {diff.kind}: {diff.detail}\n")
                if verbose and curl:
                    out.write(f"    reproduce: {curl}\n")
        clean = [op for op in self.operations if op not in self.drift]
        if clean:
            out.write(f"\nConform: {', '.join(sorted(clean))}\n")


def describe(failure: Any) -> Difference:
    """A Schemathesis failure as what differs from the spec."""
    kind = type(failure).__name__
    if kind == "UndefinedStatusCode":
        documented = ", ".join(str(s) for s in failure.defined_status_codes)
        return Difference("status", f"received {failure.status_code}; documented {documented}")
    if kind == "MissingHeaders":
        return Difference("header", "missing required " + ", ".join(failure.missing_headers))
    if kind == "JsonSchemaError":
        where = "/" + "/".join(str(p) for p in failure.instance_path)
        schema_path = _spec_pointer(failure)
        message = str(getattr(failure, "_raw_message", "") or failure.title)
        return Difference("schema", f"{where}: {message} (schema path: {schema_path})")
    if kind == "UndefinedContentType":
        documented = ", ".join(failure.defined_content_types)
        return Difference(
            "content-type", f"received {failure.content_type}; documented {documented}"
        )
    if kind in ("MissingContentType", "MalformedMediaType", "MalformedJson"):
        return Difference("content-type", _first_line(failure.message) or failure.title)
    if kind in ("ServerError", "ContentTypeServerError"):
        return Difference("server-error", f"received {failure.status_code}")
    return Difference(
        f"check {_check_name(failure)}", f"{failure.title}: {_first_line(failure.message)}"
    )


def _spec_pointer(failure: Any) -> str:
    """Where the violated keyword sits in the spec (`#/components/...`), when Schemathesis knows."""
    path = list(failure.schema_path)
    mapping = getattr(failure, "_name_to_uri", None)
    if mapping:
        try:
            from schemathesis.core.jsonschema.bundler import unbundle_path

            return "#/" + "/".join(str(p) for p in unbundle_path(path, mapping))
        except ImportError:  # pragma: no cover - a Schemathesis without the bundler helper
            pass
    return "/".join(str(p) for p in path)


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _first_line(text: str) -> str:
    """The gist of a message, with ids masked so one difference is reported once."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return _UUID.sub("{id}", " ".join(lines[:2]))[:300]


def _check_name(failure: Any) -> str:
    """The check that reported a failure: a standard check's name, or our own check's."""
    title = str(failure.title)
    if title.count("`") >= 2:  # "Custom check failed: `location_resolves`"
        return title.split("`")[1]
    names = getattr(type(failure), "checks", ())
    return str(names[0]) if names else title


_ORDER = {"status": 0, "content-type": 1, "header": 2, "schema": 3, "server-error": 4}


def _rank(diff: Difference) -> tuple[int, str, str]:
    return (_ORDER.get(diff.kind, 9), diff.kind, diff.detail)


def find_config(explicit: str | None) -> Path | None:
    """`--config`, else schemathesis.toml here or above, else the one next to the specs."""
    if explicit:
        return Path(explicit)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
        if (folder / ".git").exists():
            break
    fallback = ROOT / CONFIG_NAME
    return fallback if fallback.is_file() else None


def _load_schema(args: argparse.Namespace, spec: Path) -> Any:
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    config_path = find_config(args.config)
    if config_path is not None:
        # The config's hooks are a module next to it (imported by name): make it importable.
        sys.path.insert(0, str(config_path.resolve().parent))
        config = SchemathesisConfig.from_path(str(config_path))
    else:
        config = SchemathesisConfig()
    config.update(seed=args.seed, max_failures=None)
    schema: Any = schemathesis.openapi.from_path(spec, config=config)
    schema.raw_schema["x-mockserver-provider"] = args.provider
    schema.config.update(base_url=args.url.rstrip("/"))
    schema.config.phases.update(phases=list(args.phases))
    schema.config.generation.update(max_examples=args.max_examples, database="none")
    if args.read_only:  # unsupported_method's probes: only methods that change nothing
        schema.config.phases.coverage.unexpected_methods = {"options", "trace"}
    if args.read_only or args.operation:
        schema = _only(schema, read_only=args.read_only, operation_ids=set(args.operation))
    return schema


def _only(schema: Any, *, read_only: bool, operation_ids: set[str]) -> Any:
    """The schema restricted to some operations. Not `schema.include(...)`: with `[[operations]]`
    in the config, Schemathesis 4.32 ORs an include with the config's filter (all operations)."""
    from schemathesis.filters import FilterSet

    def keep(ctx: Any) -> bool:
        operation = ctx.operation
        if read_only and operation.method.upper() not in READ_METHODS:
            return False
        return not operation_ids or operation.definition.raw.get("operationId") in operation_ids

    include = FilterSet().with_include(keep)
    return schema.clone(filter_set=schema.config.operations.filter_set_with(include=include))


def spec_path(args: argparse.Namespace) -> Path:
    """`--spec`, else the provider's own spec."""
    from .providers import load_provider

    if args.spec:
        return Path(args.spec)
    return default_spec_dir() / load_provider(args.provider).spec_file


def check(args: argparse.Namespace) -> DriftReport:
    """Run the suite against `args.url` and collect every difference from the spec."""
    spec = spec_path(args)
    report = DriftReport(args.provider, args.url, spec)
    schema = _load_schema(args, spec)
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations.append(operation.label)
    for failure_event in _events(schema):
        _collect(report, failure_event)
    return report


def _events(schema: Any) -> Iterator[Any]:
    from schemathesis.engine import events, from_schema

    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.NonFatalError | events.FatalError):
            yield event
        elif type(event).__name__ == "FuzzScenarioFinished":
            yield event


def _collect(report: DriftReport, event: Any) -> None:
    recorder = getattr(event, "recorder", None)
    if recorder is None:
        info = getattr(event, "info", None)
        label = getattr(event, "label", "")
        message = getattr(info, "message", None) or str(getattr(event, "exception", event))
        text = f"{label}: {_first_line(message)}".strip(": ")
        # e.g. "Stateful tests: all links are excluded by filters" when one operation is chosen
        is_note = getattr(event, "related_to_operation", True) is False
        (report.notes if is_note else report.errors).append(text)
        return
    report.requests += len(recorder.interactions)
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.failure_info is None:
                continue
            node_case = recorder.cases[case_id].value if case_id in recorder.cases else None
            if node_case is None:
                continue
            operation = node_case.operation
            operation_id = operation.definition.raw.get("operationId")
            curl = str(getattr(node.failure_info, "code_sample", ""))
            report.add(operation.label, operation_id, describe(node.failure_info.failure), curl)


def add_arguments(parser: argparse.ArgumentParser, providers: Iterable[str]) -> None:
    parser.add_argument("--provider", required=True, choices=sorted(providers))
    parser.add_argument(
        "--url",
        required=True,
        help="the provider's base URL, e.g. http://127.0.0.1:4010/<provider>",
    )
    parser.add_argument("--spec", default=None, help="spec file (default: the provider's spec)")
    parser.add_argument("--config", default=None, help=f"{CONFIG_NAME} (default: discovered)")
    parser.add_argument(
        "--max-examples", type=_at_least_one, default=20, help="per operation and phase"
    )
    parser.add_argument("--seed", type=_seed, default=20261122)
    parser.add_argument(
        "--phases",
        type=lambda text: tuple(p.strip() for p in text.split(",") if p.strip()),
        default=PHASES,
        help=f"comma-separated, default {','.join(PHASES)}",
    )
    parser.add_argument(
        "--operation", action="append", default=[], help="only this operationId (repeatable)"
    )
    parser.add_argument(
        "--read-only", action="store_true", help="only GET/HEAD/OPTIONS operations (live runs)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="a curl per difference")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None


def operation_ids(spec: Path) -> list[str]:
    """Every operationId the spec declares, in its order."""
    from .spec import read_yaml

    document = read_yaml(spec)
    return [
        str(operation["operationId"])
        for item in (document.get("paths") or {}).values()
        if isinstance(item, dict)
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def unreachable(url: str, timeout: float = 5.0) -> str | None:
    """Why nothing answers at `url`'s host and port, or None when a connection opens."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// URL"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "has an invalid port"
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except socket.gaierror as exc:
        return f"is unreachable: cannot resolve {parts.hostname} ({exc.strerror})"
    except TimeoutError:
        return f"is unreachable: no connection to {parts.hostname}:{port} within {timeout:g} s"
    except OSError as exc:
        return f"is unreachable: {parts.hostname}:{port}: {exc.strerror or exc}"


def _usage_error(args: argparse.Namespace) -> str | None:
    """What makes this check impossible before it starts: a phase, operation or URL."""
    unknown = [p for p in args.phases if p not in PHASES]
    if unknown:
        return f"unknown phase {unknown[0]!r}; known: {', '.join(PHASES)}"
    if args.operation:
        spec = spec_path(args)
        try:
            known = operation_ids(spec)
        except (OSError, ValueError, AttributeError) as exc:
            return f"cannot read spec {spec}: {exc}"
        missing = [name for name in args.operation if name not in known]
        if missing:
            return (
                f"--operation {missing[0]}: no such operation in {spec.name}; "
                f"known: {', '.join(known)}"
            )
    problem = unreachable(args.url)
    return f"--url {args.url} {problem}" if problem else None


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """The `check` command: 0 when the target keeps the contract, 1 on drift, 2 when it could
    not be checked (bad usage, an unreachable URL, a broken spec)."""
    problem = _usage_error(args)
    if problem:
        sys.stderr.write(f"mockserver: {problem}\n")
        return 2
    try:
        report = check(args)
    except Exception as exc:  # a spec, config or connection problem: say what, no traceback
        sys.stderr.write(f"mockserver: check failed: {type(exc).__name__}: {exc}\n")
        return 2
    report.render(out or sys.stdout, verbose=args.verbose)
    return report.exit_status
