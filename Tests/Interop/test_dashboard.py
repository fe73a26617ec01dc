"""The dashboard in a real browser: Debian's headless Chromium, driven by selenium, against an
agent in front of the simulator. The charts' numbers must be the ledger's (`spend --chart --json`),
the link must work once, the page must show nothing without a session, and the browser must
never reach anything but the agent's loopback listener."""
import json
import os
import shutil
import tempfile
import time
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from agent_processes import agent, client, simulator
from cli_support import cli, new_key, ok

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def chart_segments(driver, chart_id):
    """{(day, key): usd} from the chart's SVG segments."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' rect')].map(r => [r.dataset.day, r.dataset.key, r.dataset.usd])",
        "#" + chart_id)
    return {(day, key): float(usd) for day, key, usd in rows}


def ledger_segments(sock, by):
    spend = json.loads(ok(cli("spend", "--chart", "--by", by, "--json", sock=sock)))
    return {(row["key"], part["key"]): float(part["charged_usd"]) for row in spend["rows"] for part in row["parts"]}


def requested_urls(driver):
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_dashboard_in_chromium_shows_the_ledgers_numbers_once_per_link_and_nothing_without_a_session(tmp_path):
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, agent(upstream, key) as (sock, _, _):
        token = json.loads(ok(cli("clients", "add", "painter", "--routes", "image", "--daily-usd", "1", "--json", sock=sock)))["token"]
        ok(cli("image", "generate", "a kite", "--size", "64x64", "--variants", "2", "--out", tmp_path, sock=sock))
        ok(cli("image", "generate", "a boat", "--size", "64x64", "--out", tmp_path, sock=sock, env={"VENICE_AGENT_TOKEN": token}))
        ok(cli("speech", "Hello there.", "--out", tmp_path / "s.wav", sock=sock))
        ok(cli("topup", "5", sock=sock))

        # The views the page shows are the CLI's too.
        recent = ok(cli("requests", "--minutes", "5", sock=sock))
        assert "POST /api/v1/image/generate" in recent and "painter" in recent and " ms" in recent, recent
        topups = ok(cli("topups", sock=sock)).splitlines()
        assert "settled" in topups[1] and "$5.00" in topups[1], topups
        assert "--minutes must be" in cli("requests", "--minutes", "0", sock=sock).stderr

        link = json.loads(ok(cli("dashboard", "--json", sock=sock)))
        url = link["url"]
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        assert urlsplit(url).hostname == "127.0.0.1" and link["dashboard_only"] is True, link
        # The plain command prints the link and how long it works.
        printed = ok(cli("dashboard", sock=sock)).splitlines()
        assert printed[0].startswith(origin + "/dashboard/login?code=") and "works once" in printed[1], printed

        profile = tempfile.mkdtemp(prefix="chromium-")
        driver = browser(profile)
        try:
            # No session: the page is not even served.
            driver.get(origin + "/dashboard")
            assert "AGENT_DASHBOARD_SESSION_REQUIRED" in driver.page_source
            assert not driver.find_elements(By.ID, "content")
            driver.get_log("browser")  # the 401 above is expected; start the console log afresh

            driver.get(url)
            assert driver.current_url == origin + "/dashboard", driver.current_url  # the code left the address bar
            WebDriverWait(driver, 30).until(
                lambda d: d.find_element(By.ID, "content").is_displayed()
                and d.find_elements(By.CSS_SELECTOR, "#spend-client rect") and d.find_elements(By.CSS_SELECTOR, "#requests tbody td.num"))
            # Every segment of both charts is the ledger's figure for that day and client or model.
            for chart, by in (("spend-client", "client"), ("spend-model", "model")):
                drawn, ledger = chart_segments(driver, chart), ledger_segments(sock, by)
                assert drawn.keys() == ledger.keys(), (chart, drawn, ledger)
                for segment, usd in ledger.items():
                    assert drawn[segment] == pytest.approx(usd, abs=1e-9), (chart, segment, drawn, ledger)
            assert {key for _, key in chart_segments(driver, "spend-client")} == {"default", "painter"}
            clients = driver.find_element(By.ID, "clients").text
            assert "painter" in clients and "of $1.00" in clients, clients
            topups = driver.find_element(By.ID, "topups").text
            assert "$5.00" in topups and "settled" in topups, topups
            requests = driver.find_element(By.ID, "requests").text
            assert "/api/v1/image/generate" in requests and "/api/v1/audio/speech" in requests, requests
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#balance-chart circle"))
            balance_points = driver.execute_script(
                "return [...document.querySelectorAll('#balance-chart circle')].map(c => Number(c.dataset.usd))")
            assert balance_points, "the balance chart has no point"
            with client(sock) as http:
                balance = http.get("/agent/v1/balance").json()
            assert balance_points[-1] == pytest.approx(float(balance["balance_usd"]), abs=1e-6), (balance_points, balance)
            # No script error and no CSP violation in the console.
            severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe

            out = tmp_path / "dashboard.png"
            driver.save_screenshot(str(out))
            assert out.stat().st_size > 10_000
            if os.environ.get("DASHBOARD_SCREENSHOT"):
                shutil.copy(out, os.environ["DASHBOARD_SCREENSHOT"])

            # A program controls what it sends: a hostile model name lands in the ledger's rows. The
            # next refresh shows it as text, cut, and it neither runs nor stretches the page.
            hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>" + "m" * 5000
            with client(sock) as http:
                refused = http.post("/api/v1/image/generate", json={"model": hostile, "prompt": "x"})
                assert refused.status_code >= 400, refused.text
                assert any(r["model"] == hostile for r in http.get("/agent/v1/requests").json()["requests"])
            WebDriverWait(driver, 30).until(lambda d: "onerror=alert(1)" in d.find_element(By.ID, "requests").text)
            assert "<img src=x onerror=alert(1)><script>alert(2)</script>" in driver.find_element(By.ID, "requests").text
            assert not driver.find_elements(By.CSS_SELECTOR, "#requests img, #requests script, #legend-model img")
            assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

            # Every request that left the browser went to the agent's listener, and nowhere else
            # (chrome://, data: and about: are the browser's own pages, never on the network).
            urls = [u for u in requested_urls(driver) if urlsplit(u).scheme not in ("chrome", "data", "about", "blob")]
            assert any(u.startswith(origin + "/agent/v1/") for u in urls), urls
            assert all(u.startswith(origin + "/") for u in urls), [u for u in urls if not u.startswith(origin + "/")]

            # The link works once: a fresh browser profile presenting it again is refused.
            driver.delete_all_cookies()
            driver.get(url)
            assert "AGENT_DASHBOARD_CODE_REFUSED" in driver.page_source
            assert not driver.find_elements(By.ID, "content")
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)

        # Locking the agent ends the session: the open page says so and stops showing data.
        link = json.loads(ok(cli("dashboard", "--json", sock=sock)))
        profile = tempfile.mkdtemp(prefix="chromium-")
        driver = browser(profile)
        try:
            driver.get(link["url"])
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "content").is_displayed())
            ok(cli("lock", sock=sock))
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "notice").is_displayed())
            assert "venice-agent dashboard" in driver.find_element(By.ID, "notice").text
            assert not driver.find_elements(By.CSS_SELECTOR, "#spend-client rect")
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
