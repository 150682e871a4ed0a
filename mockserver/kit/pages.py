"""A provider's pages, rendered from its Jinja templates on the kit's one base layout."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from ..behaviour import Context
from ..lifecycle import TransitionRefused
from ..store import Record
from .journey import Site, Tickets, is_http_url
from .states import States

__all__ = ["PageRefused", "Pages"]


class PageRefused(Exception):
    """A journey step the page refuses: answered as an error page (see `Pages.route`)."""

    def __init__(self, heading: str, message: str, status: int) -> None:
        super().__init__(message)
        self.heading, self.message, self.status = heading, message, status


class Pages:
    """Templates from `<package>/templates/` (named `<provider>/<page>.html`) and the kit's own
    (`kit/base.html`, which every page extends, `kit/error.html`, `kit/done.html`)."""

    def __init__(
        self,
        package: str | None = None,
        not_found: tuple[str, str] = ("Consent not found", "This consent does not exist."),
    ) -> None:
        self.not_found = not_found
        loaders = [PackageLoader(package, "templates")] if package else []
        self.env = Environment(
            loader=ChoiceLoader([*loaders, PackageLoader(__package__ or "", "templates")]),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, site: Site, template: str, heading: str, **values: Any) -> str:
        page = self.env.get_template(template)
        return page.render(title=site.title, heading=heading, **values)

    def page(
        self, site: Site, template: str, heading: str, status: int = 200, **values: Any
    ) -> Any:
        """A complete page: `template` fills the base layout's `main` block."""
        return site.html(self.render(site, template, heading, **values), status)

    def error(self, site: Site, heading: str, message: str, status: int) -> Any:
        return self.page(site, "kit/error.html", heading, status, message=message)

    def done(
        self,
        site: Site,
        lead: str | None = "You can close this window.",
        facts: Mapping[str, Any] | None = None,
        *,
        code: bool = False,
    ) -> Any:
        """The journey's last page when there is nowhere to send the browser back to."""
        return self.page(site, "kit/done.html", "All done", lead=lead, facts=facts, code=code)

    def back(
        self,
        site: Site,
        url: str,
        params: Mapping[str, str],
        lead: str | None = "You can close this window.",
        *,
        shown: bool = True,
        code: bool = False,
    ) -> Any:
        """Send the browser back to `url` with `params`; without a URL, the last page (which
        shows the parameters, unless not `shown`)."""
        if url:
            return site.redirect_to(url, params)
        return self.done(site, lead, params if shown else None, code=code)

    def route(
        self, site: Site, rule: str, methods: Iterable[str] = ("GET",)
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a view on the site whose `PageRefused` becomes this provider's error page."""

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def answer(*args: Any, **kwargs: Any) -> Any:
                try:
                    return view(*args, **kwargs)
                except PageRefused as refused:
                    return self.error(site, refused.heading, refused.message, refused.status)

            site.route(rule, methods)(answer)
            return answer

        return register

    def found(self, record: Record | None) -> Record:
        """The consent, or a 404 page."""
        if record is None:
            raise PageRefused(*self.not_found, 404)
        return record

    @staticmethod
    def awaiting(
        states: States,
        data: dict[str, Any],
        allowed: Iterable[str],
        heading: str,
        says: str = "This consent is {status}.",
    ) -> str:
        """The consent's status when it is one of `allowed` (what the page acts on); else the
        409 page: `heading`, and `says` naming the status."""
        status = states.status_of(data)
        if status not in allowed:
            raise PageRefused(heading, says.format(status=status), 409)
        return status

    @staticmethod
    def ticket(state: Any, link: str) -> Any:
        """A journey's state, or the 403 "Session expired" page (used, expired or unknown)."""
        if not state:
            raise PageRefused("Session expired", f"Open the {link} again.", 403)
        return state

    def resume(
        self, site: Site, journey: Tickets, consent_id: str, link: str, tenant: str | None = None
    ) -> tuple[Context, Any]:
        """The context of `tenant` (None: the consent's, else the 404 page) and the state of the
        journey for this consent, taken once with the key the form posts back (`journey`);
        else the 403 "Session expired" page."""
        if tenant is None:
            tenant = self.found(site.find(consent_id)).tenant
        ctx = site.context(tenant)
        taken = journey.take(ctx, site.form().get("journey", ""), consentId=consent_id)
        return ctx, self.ticket(taken, link)

    @staticmethod
    def decision(
        form: Mapping[str, str], hint: str, choices: Iterable[str] = ("approve", "reject")
    ) -> str:
        """The user's choice (the form's `decision`), or the 400 page: `hint` says the choices."""
        choice = form.get("decision", "")
        if choice not in choices:
            raise PageRefused("Unknown decision", hint, 400)
        return choice

    @staticmethod
    def back_url(url: str, name: str) -> str:
        """Where the browser goes back to: empty, or an absolute http(s) URL (else 400)."""
        if url and not is_http_url(url):
            raise PageRefused("Invalid redirect", f"{name} must be an absolute http(s) URL.", 400)
        return url

    @staticmethod
    def seconds(value: str, name: str, most: int, heading: str) -> str:
        """A query's delay: empty, or a whole number of seconds up to `most` (else the 400
        page: `heading`, and what `name` takes)."""
        if value and not (value.isdigit() and int(value) <= most):
            raise PageRefused(heading, f"{name} must be 0 to {most} seconds.", 400)
        return value

    @staticmethod
    @contextlib.contextmanager
    def moving(heading: str) -> Iterator[None]:
        """A status change the lifecycle may refuse: a 409 page that says why."""
        try:
            yield
        except TransitionRefused as refused:
            raise PageRefused(heading, str(refused), 409) from None
