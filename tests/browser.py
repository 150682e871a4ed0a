"""Headless Chromium for the journey tests, and a simulator served over HTTP from a thread."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("MOCKSERVER_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def chromium_page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (./dev test installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", _stay_on_loopback)
            yield page
        finally:
            browser.close()


CLIENT_PAGE = "<h1>back at the client</h1>"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _on_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK


def _stay_on_loopback(route: Any) -> None:
    """Keep the browser off the network (CI has none beyond loopback, and an offline Chromium
    shows an error page instead of the client's URL): a client page outside loopback is a stub.
    Playwright cannot route the target of an HTTP redirect, so a simulator redirect that leaves
    loopback is followed by a script instead, to the same URL, which is then routed here."""
    url = route.request.url
    if not _on_loopback(url):
        route.fulfill(status=200, body=CLIENT_PAGE, content_type="text/html")
        return
    answer = route.fetch(max_redirects=0)
    target = urljoin(url, answer.headers.get("location", ""))
    if 300 <= answer.status < 400 and not _on_loopback(target):
        script = f"<script>location.replace({json.dumps(target)})</script>"
        route.fulfill(status=200, body=script, content_type="text/html")
    else:
        route.fulfill(response=answer)
