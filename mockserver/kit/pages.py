"""A provider's pages, rendered from its Jinja templates on the kit's one base layout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from .journey import Site

__all__ = ["Pages"]


class Pages:
    """Templates from `<package>/templates/` (named `<provider>/<page>.html`) and the kit's own
    (`kit/base.html`, which every page extends, `kit/error.html`, `kit/done.html`)."""

    def __init__(self, package: str | None = None) -> None:
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

    def expired(self, site: Site, link: str) -> Any:
        """A journey whose state is gone (used, expired or never issued): 403."""
        return self.error(site, "Session expired", f"Open the {link} again.", 403)

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
