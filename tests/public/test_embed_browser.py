"""The status embed in headless Chromium, on a page of another origin: a real `statuspage api`
process serves the script and the summary; a tiny site on another local port includes the script.
Nothing shows while all is well; an incident shows in the configured corner and colours, its name
as text. Leaves a screenshot in test-artifacts/embed.png (git-ignored)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.processes import free_port
from tests.public.test_html_browser import CHROMEDRIVER, CHROMIUM, browser, server

__all__ = ["browser", "server"]  # the fixtures, imported for this test

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "embed.png"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver",
)

from selenium.common.exceptions import NoSuchElementException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@contextmanager
def site_with_script(script_url: str) -> Iterator[str]:
    body = (
        "<!doctype html><html><head><meta charset=utf-8><title>Acme shop</title></head>"
        "<body style='font-family:sans-serif'><h1>Acme shop</h1><p>Buy things.</p>"
        f'<script src="{script_url}"></script></body></html>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_embed_on_another_origin(
    server: str, browser: Any, make_tenant: Callable[..., Any], tmp_path: Path
) -> None:
    tenant: Tenant = await make_tenant()
    page_id = tenant.page_id
    v1 = f"{server}/v1/pages/{page_id}"
    async with httpx.AsyncClient(headers=tenant.auth, timeout=10) as api:
        response = await api.patch(
            f"{v1}/status_embed_config",
            json={
                "status_embed_config": {
                    "position": "top-right",
                    "incident_background_color": "123456",
                    "incident_text_color": "fafafa",
                }
            },
        )
        assert response.status_code == 200, response.text

        with site_with_script(f"{server}/embed/script.js?page={page_id}") as site:
            # All is well: the script runs (its fetch answers) and shows nothing.
            browser.get(site)
            WebDriverWait(browser, 10).until(
                lambda d: d.execute_script(
                    "return performance.getEntriesByType('resource')"
                    ".some(function (e) { return e.name.indexOf('summary.json') >= 0; })"
                )
            )
            await asyncio.sleep(0.3)  # the answer's promise chain
            assert not browser.find_elements(By.CSS_SELECTOR, "[data-statuspage-embed]")

            name = "<b>Checkout</b> failing & slow"
            response = await api.post(
                f"{v1}/incidents",
                json={
                    "incident": {
                        "name": name,
                        "status": "investigating",
                        "body": "Payments time out; we are on it.",
                    }
                },
            )
            assert response.status_code == 201, response.text
            incident_page = f"{server}/p/{page_id}/incidents/{response.json()['id']}"
            deadline = time.monotonic() + 10
            summary_url = f"{server}/p/{page_id}/api/v2/summary.json"
            while not (await api.get(summary_url)).json()["incidents"]:
                assert time.monotonic() < deadline, "the summary does not show the incident"
                await asyncio.sleep(0.1)

            browser.get(site)
            wait = WebDriverWait(browser, 10, ignored_exceptions=(NoSuchElementException,))
            box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-statuspage-embed]"))
            assert box.get_attribute("data-statuspage-embed") == "incident"
            title = box.find_element(By.CSS_SELECTOR, ".statuspage-embed-name")
            assert title.text == name  # as text: no <b> element was made of it
            assert not box.find_elements(By.TAG_NAME, "b")
            assert title.get_attribute("href") == incident_page
            update = box.find_element(By.CSS_SELECTOR, ".statuspage-embed-update")
            assert update.text == "Payments time out; we are on it."
            assert box.value_of_css_property("background-color") == "rgba(18, 52, 86, 1)"
            assert box.value_of_css_property("color") == "rgba(250, 250, 250, 1)"
            assert box.value_of_css_property("position") == "fixed"
            width = browser.execute_script("return document.documentElement.clientWidth")
            rect = box.rect
            assert rect["y"] < 40 and rect["x"] + rect["width"] > width - 40  # top right

            shot = tmp_path / "embed.png"
            assert browser.save_screenshot(str(shot))
            ARTIFACT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, ARTIFACT)

            # Dismissed, it goes away.
            box.find_element(By.TAG_NAME, "button").click()
            assert not browser.find_elements(By.CSS_SELECTOR, "[data-statuspage-embed]")
