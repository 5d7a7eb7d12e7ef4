"""The dashboard in a real headless Chromium, against a real reference consumer on loopback.

Everything runs on 127.0.0.1: the mock server and the consumer on port 0, Chromium with its
background networking off. Chromium and chromedriver come from Debian (``/usr/bin``, installed
by ``scripts/install-browser.sh``); when they are missing the tests fail and say so, because a
skipped browser test would let a broken dashboard through. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait
from werkzeug.wrappers import Request, Response

from mockserver.auth import BearerAuth
from mockserver.consumer import ConsumerConfig
from mockserver.server import create_app
from mockserver.server.config import ServerConfig
from mockserver.serving import RunningConsumer, serve_consumer
from tests._server import subscription
from tests.servers import serve_wsgi

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
#: Every wait in the browser gives up after this long.
WAIT_S = 15
TOKEN = "browser-bearer-token-0123456789"

pytestmark = pytest.mark.slow


@dataclass
class Site:
    url: str
    consumer: RunningConsumer


@pytest.fixture
def site() -> Iterator[Site]:
    """The mock server with one subscription, to a real reference consumer (fresh per test)."""
    with serve_consumer(ConsumerConfig(auth=BearerAuth(TOKEN))) as consumer:
        reference = subscription(id="reference", url=consumer.url, auth=f"bearer:{TOKEN}")
        app = create_app(ServerConfig(subscriptions=(reference,)))
        try:
            with serve_wsgi(app) as server:
                yield Site(server.url, consumer)
        finally:
            app.close(timeout=5)


@pytest.fixture(scope="module")
def artifacts(repo_root: Path) -> Path:
    folder = repo_root / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def chromium(profile: Path, *extra: str) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile; fails (never skips) when it is not installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: run scripts/install-browser.sh "
            "(apt-get install chromium chromium-driver)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*ARGUMENTS, *extra, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
        # A script error or a Content-Security-Policy violation is a console error.
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()


def wait(driver: WebDriver, css: str) -> WebElement:
    """The first element matching ``css``, once it exists (at most ``WAIT_S``)."""
    found: WebElement = WebDriverWait(driver, WAIT_S).until(
        lambda d: (d.find_elements(By.CSS_SELECTOR, css) or [None])[0],
        message=f"no element matches {css!r} after {WAIT_S} s",
    )
    return found


def click(driver: WebDriver, css: str) -> None:
    """Click the element matching ``css``, found afresh: the page re-renders its rows as it polls
    the API, so an element found a moment ago may be gone (stale) by the time it is clicked."""

    def clicked(d: WebDriver) -> bool:
        found = d.find_elements(By.CSS_SELECTOR, css)
        if not found:
            return False
        found[0].click()
        return True

    WebDriverWait(driver, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(
        clicked, message=f"could not click {css!r} within {WAIT_S} s"
    )


def screenshot(driver: webdriver.Chrome, path: Path, max_height: int = 4000) -> None:
    """The whole page, not just the window (Chromium's DevTools protocol, beyond the viewport)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {
        "x": 0,
        "y": 0,
        "width": size["width"],
        "height": min(size["height"], max_height),
        "scale": 1,
    }
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 10_000


def test_trigger_deliver_inspect_and_redeliver(site: Site, artifacts: Path, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as driver:
        driver.get(site.url + "/")
        assert driver.title.startswith("Deliveries")
        wait(driver, "#live.on")  # the script polls the API
        assert driver.find_elements(By.CSS_SELECTOR, '[data-testid="delivery-row"]') == []
        driver.execute_script("window.notReloaded = true")

        # Trigger from the page's form; the row appears by itself (no reload) once delivered.
        Select(driver.find_element(By.ID, "event")).select_by_value("transaction.create")
        driver.find_element(By.ID, "trigger").click()
        WebDriverWait(driver, WAIT_S).until(
            lambda d: d.find_element(By.ID, "trigger-result").text.startswith("Queued 1 ")
        )
        row = wait(driver, '[data-testid="delivery-row"][data-status="delivered"]')
        original = row.get_attribute("data-id")
        assert original and row.get_attribute("data-event") == "transaction.create"
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        assert cells[1:6] == [
            "delivered",
            "transaction.create",
            f"reference\n{site.consumer.url}",
            "1",
            "202",
        ]
        delivered = driver.find_element(By.CSS_SELECTOR, '[data-state="delivered"] .n')
        WebDriverWait(driver, WAIT_S).until(lambda d: delivered.text == "1")
        assert driver.execute_script("return window.notReloaded") is True

        # Its page: the attempt (credentials redacted) and the payload.
        click(
            driver,
            f'[data-testid="delivery-row"][data-id="{original}"] [data-testid="delivery-link"]',
        )
        detail = wait(driver, f'#delivery[data-id="{original}"][data-status="delivered"]')
        [attempt] = detail.find_elements(By.CSS_SELECTOR, '[data-testid="attempt-row"]')
        assert attempt.get_attribute("data-status") == "202"
        assert "authorization: [REDACTED]" in detail.text and TOKEN not in driver.page_source
        assert '"event": "create"' in driver.find_element(By.ID, "payload").text

        # Redeliver: the new delivery is linked, and its badge turns delivered by itself.
        driver.find_element(By.ID, "redeliver").click()
        link = wait(driver, "#redelivered")
        wait(driver, '#redelivered-status [data-testid="status"].s-delivered')
        screenshot(driver, artifacts / "dashboard-detail.png")

        link.click()
        again = wait(driver, '#delivery[data-status="delivered"]')
        redelivery = again.get_attribute("data-id")
        assert redelivery and redelivery != original
        assert driver.find_element(By.ID, "redelivery-of").text == original[:8]
        assert len(again.find_elements(By.CSS_SELECTOR, '[data-testid="attempt-row"]')) == 1

        # Back on the list: both, newest (the redelivery) first.
        driver.find_element(By.LINK_TEXT, "Deliveries").click()
        wait(driver, '[data-testid="delivery-row"]:nth-child(2)[data-status="delivered"]')
        ids = [
            r.get_attribute("data-id")
            for r in driver.find_elements(By.CSS_SELECTOR, '[data-testid="delivery-row"]')
        ]
        assert ids == [redelivery, original]
        screenshot(driver, artifacts / "dashboard.png")

    ledger = site.consumer.consumer.ledger()
    # The redelivery is the same event again: the consumer processed it once, then deduplicated.
    assert (ledger["accepted"], ledger["duplicates"], ledger["rejected"]) == (1, 1, {})


def test_the_schema_reference_page(site: Site, artifacts: Path, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as driver:
        driver.get(site.url + "/schemas")
        table = wait(driver, 'table[data-testid="fields-transaction"]')
        fields = [
            row.get_attribute("data-field")
            for row in table.find_elements(By.CSS_SELECTOR, '[data-testid="field-row"]')
        ]
        assert {"id", "check_in", "notations", "photos"} <= set(fields)
        check_in = table.find_element(By.CSS_SELECTOR, '[data-field="check_in"]')
        assert check_in.text.startswith("check_in boolean or null yes documented")

        screenshot(driver, artifacts / "schemas.png", max_height=1400)
        table.find_element(By.LINK_TEXT, "asset").click()
        assert driver.current_url.endswith("#schema-asset")


def test_a_delivery_page_follows_the_retries_until_final(
    site: Site, artifacts: Path, tmp_path: Path
) -> None:
    answers = iter([503])

    @Request.application
    def flaky(request: Request) -> Response:
        return Response("busy", status=next(answers, 202))

    with serve_wsgi(flaky) as consumer, chromium(tmp_path / "profile") as driver:
        created = httpx.post(
            site.url + "/v1/subscriptions",
            json={"id": "flaky", "url": consumer.url, "events": "task.completed",
                  "retry": "custom:1.5"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        accepted = httpx.post(site.url + "/v1/events", json={"event": "task.completed"})
        [delivery] = [d for d in accepted.json()["deliveries"] if d["subscription"] == "flaky"]

        driver.get(f"{site.url}/deliveries/{delivery['id']}")
        page = wait(driver, "#delivery")
        assert page.get_attribute("data-status") in ("pending", "delivering")
        driver.execute_script("window.notReloaded = true")

        wait(driver, '#delivery[data-status="delivered"]')
        attempts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="attempt-row"]')
        assert [a.get_attribute("data-status") for a in attempts] == ["503", "202"]
        assert re.search(r"503 \d+ ms next attempt 1\.\d s later$", attempts[0].text)  # jittered
        assert driver.find_element(By.ID, "attempt-count").text == "2"
        assert driver.execute_script("return window.notReloaded") is True


ATTACK = """<!doctype html><html><body><p id="done">no</p><script>
(async () => {
  const target = %s;
  const event = JSON.stringify({event: "transaction.create"});
  const hook = JSON.stringify({id: "evil", url: "http://127.0.0.1:9/steal"});
  for (const [path, body] of [["/v1/events", event], ["/v1/subscriptions", hook]]) {
    // A "simple request": no CORS preflight, so only the server can refuse it.
    try { await fetch(target + path, {method: "POST", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body}); } catch (err) {}
  }
  document.getElementById("done").textContent = "yes";
})();
</script></body></html>"""


def test_another_origin_cannot_write_a_rebound_host_cannot_read_the_dashboard_still_works(
    site: Site, tmp_path: Path
) -> None:
    @Request.application
    def attacker(request: Request) -> Response:
        return Response(ATTACK % json.dumps(site.url), content_type="text/html")

    port = site.url.rpartition(":")[2]
    rebinding = "--host-resolver-rules=MAP rebind.test 127.0.0.1"
    with serve_wsgi(attacker) as evil, chromium(tmp_path / "profile", rebinding) as driver:
        # A page of another origin posts text/plain to the API: refused, nothing queued.
        driver.get(evil.url + "/")
        WebDriverWait(driver, WAIT_S).until(lambda d: d.find_element(By.ID, "done").text == "yes")
        driver.get_log("browser")  # the refused requests' console lines are the point here
        api = httpx.get(site.url + "/v1/deliveries").json()
        subscriptions = httpx.get(site.url + "/v1/subscriptions").json()["subscriptions"]
        assert api["total"] == 0 and [s["id"] for s in subscriptions] == ["reference"]

        # DNS rebinding: a name the attacker controls now points at 127.0.0.1. The Host header
        # gives it away, and the server answers nothing but the refusal.
        driver.get(f"http://rebind.test:{port}/v1/deliveries")
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "does not name this server" in body and "deliveries" not in body.split(":")[0]
        driver.get_log("browser")

        # The user's own dashboard is untouched: trigger from the form, see it delivered.
        driver.get(site.url + "/")
        wait(driver, "#live.on")
        Select(driver.find_element(By.ID, "event")).select_by_value("task.completed")
        driver.find_element(By.ID, "trigger").click()
        wait(driver, '[data-testid="delivery-row"][data-status="delivered"]')


def test_with_an_api_token_the_dashboard_asks_for_it_once(tmp_path: Path) -> None:
    token = "dashboard-api-token-8c1f3a5e9b7d"
    app = create_app(ServerConfig(api_token=token))
    try:
        with serve_wsgi(app) as server, chromium(tmp_path / "profile") as driver:
            assert httpx.get(server.url + "/v1/deliveries").status_code == 401
            driver.get(server.url + "/")
            wait(driver, "#login")
            assert driver.current_url.endswith("/login?next=/")
            driver.find_element(By.ID, "token").send_keys("not-the-token")
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            WebDriverWait(driver, WAIT_S).until(
                lambda d: "not the API token" in d.find_element(By.ID, "said").text
            )
            driver.get_log("browser")  # the refused sign-in is logged as a 401
            field = driver.find_element(By.ID, "token")
            field.clear()
            field.send_keys(token)
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            wait(driver, "#live.on")  # the dashboard, polling the API with its session cookie
            assert driver.title.startswith("Deliveries") and token not in driver.page_source
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(server.url + "/v1/deliveries", headers=headers).status_code == 200
    finally:
        app.close(timeout=5)


def test_signing_in_never_leaves_this_server_whatever_next_says(tmp_path: Path) -> None:
    """``/\\HOST`` is ``//HOST`` to a browser: after signing in it would open another site.
    The "other site" is a server of ours on loopback, which must see no request."""
    token = "dashboard-api-token-5e0c2d7a1b9f"
    visits: list[str] = []

    @Request.application
    def elsewhere(request: Request) -> Response:
        visits.append(request.path)
        return Response("<title>elsewhere</title>", content_type="text/html")

    app = create_app(ServerConfig(api_token=token))
    try:
        with (
            serve_wsgi(app) as server,
            serve_wsgi(elsewhere) as other,
            chromium(tmp_path / "profile") as driver,
        ):
            wanted = quote(f"/\\{other.host}:{other.port}/phished", safe="")
            driver.get(f"{server.url}/login?next={wanted}")
            driver.find_element(By.ID, "token").send_keys(token)
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            wait(driver, "#live.on")  # the dashboard of this server
            assert driver.current_url == server.url + "/"
            assert visits == []
    finally:
        app.close(timeout=5)
