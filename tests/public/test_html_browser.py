"""The status page in headless Chromium, served by a real `statuspage api` process.

Needs Debian's chromium and chromium-driver (.ci/run installs them); nothing is downloaded here.
Leaves a screenshot in the test's tmp dir and in test-artifacts/status-page.png (git-ignored).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from tests.cli.test_cli import _wait_ready
from tests.conftest import Servers
from tests.processes import free_port
from tests.public.test_html import add_outage, backdate_components

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "status-page.png"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server(servers: Servers, clean: None) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "api", "--port", str(port)],
        env=servers.env(STATUSPAGE_PUBLIC_BASE_URL=base),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_ready(base, process)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1100,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def _bootstrap(servers: Servers) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "bootstrap", "--organization", "Acme", "--page", "Acme",
         "--json"],
        env=servers.env(), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    created: dict[str, str] = json.loads(result.stdout)
    return created


def _populate(servers: Servers, base: str, page_id: str, api_key: str) -> dict[str, str]:
    """A page people would recognise: groups, three months of history, an incident, a maintenance."""
    auth = {"Authorization": f"OAuth {api_key}"}
    v1 = f"{base}/v1/pages/{page_id}"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{v1}{path}", headers=auth, json=body, timeout=10)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def component(name: str, **fields: Any) -> str:
        return str(post("/components", {"component": {"name": name, **fields}})["id"])

    ids = {name: component(name) for name in ("API", "Website", "Dashboard")}
    regions = [component(name) for name in ("US East", "EU West", "Asia Pacific")]
    post("/component-groups", {"component_group": {"name": "Regions", "components": regions}})
    ids["EU West"] = regions[1]

    async def history() -> None:
        database = Database.connect(servers.database_url, Settings())
        try:
            await backdate_components(database, [*ids.values(), *regions], days=120)
            today = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
            await add_outage(database, ids["API"], today - timedelta(days=12), 95)
            await add_outage(database, ids["API"], today - timedelta(days=40), 20, "partial_outage")
            await add_outage(database, ids["Website"], today - timedelta(days=63), 300)
            await add_outage(database, regions[1], today - timedelta(days=7), 50, "partial_outage")
        finally:
            await database.close()

    asyncio.run(history())
    post(
        "/incidents",
        {"incident": {
            "name": "Elevated API error rates", "status": "identified",
            "body": "We found the cause: a failing database node. Traffic is being moved.",
            "components": {ids["API"]: "degraded_performance"},
        }},
    )  # fmt: skip
    post(
        "/incidents",
        {"incident": {
            "name": "Database maintenance", "status": "scheduled",
            "body": "We will upgrade the primary database; short read-only periods are expected.",
            "scheduled_for": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            "scheduled_until": (datetime.now(UTC) + timedelta(days=3, hours=2)).isoformat(),
            "component_ids": [ids["Dashboard"]],
        }},
    )  # fmt: skip
    return ids


def test_status_page_in_chromium(
    servers: Servers, server: str, browser: Any, tmp_path: Path
) -> None:
    created = _bootstrap(servers)
    page_id = created["page_id"]
    ids = _populate(servers, server, page_id, created["api_key"])

    # Snapshots catch up with writes within a second; a page loaded before that would reload
    # itself on the stream's first event, under the test's feet.
    deadline = time.monotonic() + 10
    while "Database maintenance" not in httpx.get(f"{server}/p/{page_id}/", timeout=10).text:
        assert time.monotonic() < deadline, "the status page does not show the latest writes"
        time.sleep(0.1)
    browser.get(f"{server}/p/{page_id}/?subscribed=1")
    # The page may reload itself (a stream event) between finding an element and reading it.
    wait = WebDriverWait(
        browser,
        15,
        # An element read while the page reloads (the live update below) can also fail as
        # "Node with given id does not belong to the document", a bare WebDriverException.
        ignored_exceptions=(
            NoSuchElementException,
            StaleElementReferenceException,
            WebDriverException,
        ),
    )
    banner = wait.until(lambda d: d.find_element(By.ID, "banner"))
    assert banner.text == "Partially Degraded Service"
    assert banner.value_of_css_property("background-color") == "rgba(241, 196, 15, 1)"  # yellow
    # The inline script ran: it reveals the thank-you note after a subscription.
    assert browser.find_element(By.ID, "subscribed").is_displayed()

    row = browser.find_element(By.CSS_SELECTOR, f'[data-component="{ids["API"]}"]')
    assert "Degraded Performance" in row.text
    cells = row.find_elements(By.CSS_SELECTOR, ".bar > i")
    assert len(cells) == 90
    assert all(c.size["height"] >= 30 and c.size["width"] >= 2 for c in cells)
    assert cells[0].value_of_css_property("background-color") == "rgba(47, 204, 102, 1)"  # green
    assert "99." in row.find_element(By.CSS_SELECTOR, ".legend").text

    # Hovering a day shows its tooltip: the date and what happened.
    outage = row.find_elements(By.CSS_SELECTOR, ".bar > i.x")
    assert len(outage) == 1
    ActionChains(browser).move_to_element(outage[0]).perform()
    tooltip = browser.execute_script(
        "return getComputedStyle(arguments[0], '::after').content", outage[0]
    )
    assert "min major outage" in tooltip and "uptime" in tooltip, tooltip

    group = browser.find_element(By.CSS_SELECTOR, "details.group")
    assert group.get_attribute("open") is None
    group.find_element(By.TAG_NAME, "summary").click()
    eu = browser.find_element(By.CSS_SELECTOR, f'[data-component="{ids["EU West"]}"] .bar')
    assert eu.is_displayed()

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1100, int(height) + 40)
    browser.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "status-page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    ARTIFACT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)
    browser.set_window_size(1100, 900)
    assert browser.save_screenshot(str(ARTIFACT.with_name("status-page-top.png")))

    # Live: a status change arrives through the stream and is applied in place (no reload) ...
    auth = {"Authorization": f"OAuth {created['api_key']}"}
    v1 = f"{server}/v1/pages/{page_id}"
    browser.execute_script("window.notReloaded = true")
    response = httpx.patch(
        f"{v1}/components/{ids['Website']}",
        headers=auth,
        json={"component": {"status": "major_outage"}},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    wait.until(lambda d: d.find_element(By.ID, "banner").text == "Partial System Outage")
    website = browser.find_element(By.CSS_SELECTOR, f'[data-component="{ids["Website"]}"]')
    assert "Major Outage" in website.find_element(By.CSS_SELECTOR, ".status").text
    assert browser.execute_script("return window.notReloaded") is True
    # ... and a new incident, which adds a block, reloads the page.
    response = httpx.post(
        f"{v1}/incidents",
        headers=auth,
        json={"incident": {"name": "Website unreachable", "status": "investigating"}},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    wait.until(lambda d: "Website unreachable" in d.find_element(By.TAG_NAME, "main").text)
