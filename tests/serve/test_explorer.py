"""The explorer in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by python3-selenium; nothing downloaded) against `witness serve` on a ledger of the demo
incident (examples/agent_actions.jsonl). It filters the timeline, opens an entry, follows a
link, checks the causal graph's nodes and edges against /v1/lineage, runs the in-browser proof
check (WebCrypto SHA-256 and Ed25519) and watches it fail on a tampered proof, and sees an
append by another process announced. Screenshots go to $WITNESS_SCREENSHOT_DIR.

Run by CTest with WITNESS_BIN and WITNESS_SOURCE_DIR set.
"""
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

WITNESS = os.environ.get("WITNESS_BIN", "witness")
SOURCE = os.environ.get("WITNESS_SOURCE_DIR", ".")
SHOTS = os.environ.get("WITNESS_SCREENSHOT_DIR", tempfile.gettempdir())


def wait_for(predicate, what, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def served():
    with tempfile.TemporaryDirectory() as d:
        ledger = os.path.join(d, "ledger")
        subprocess.run([WITNESS, "init", "--ledger", ledger], check=True, capture_output=True)
        subprocess.run([WITNESS, "append", "--ledger", ledger,
                        os.path.join(SOURCE, "examples", "agent_actions.jsonl")],
                       check=True, capture_output=True)
        # A covenant, and one refusal of it: the agents page has a budget and a denial to show.
        subprocess.run([WITNESS, "agents", "register", "--ledger", ledger,
                        os.path.join(SOURCE, "examples", "agents", "alert-triage.yaml")],
                       check=True, capture_output=True)
        allowed = os.path.join(d, "allowed.jsonl")
        with open(allowed, "w") as f:
            f.write('{"origin":"alert.triage","kind":"agent.action",'
                    '"payload":{"n":1,"usage":{"tokens":1200}}}\n')
        subprocess.run([WITNESS, "append", "--ledger", ledger, allowed], check=True,
                       capture_output=True)
        denied = os.path.join(d, "denied.jsonl")
        with open(denied, "w") as f:
            f.write('{"origin":"alert.triage","kind":"detector.alert","payload":{"n":2}}\n')
        refused = subprocess.run([WITNESS, "append", "--ledger", ledger, denied],
                                 capture_output=True, text=True)
        assert refused.returncode == 1, refused.stderr
        # A detector run over labelled traffic: the detector page has alerts, phases and a
        # series to chart.
        traffic = os.path.join(d, "traffic.jsonl")
        subprocess.run([WITNESS, "gen-traffic", "--scenario", "icmp-flood", "--out", traffic],
                       check=True, capture_output=True)
        subprocess.run([WITNESS, "detect", "--ledger", ledger, "--warmup-seconds", "0", traffic],
                       check=True,
                       capture_output=True)
        proc = subprocess.Popen(
            [WITNESS, "serve", "--ledger", ledger, "--listen", "127.0.0.1:0", "--access-log", "off"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line.startswith("listening on http://"), line + proc.stderr.read()
        base = line.split(" ")[2].strip().rstrip("/")
        yield base, ledger, d
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def browser():
    o = Options()
    # As the workplace's notes say: without the background-networking flags, Chromium tries
    # hosts this closed network refuses.
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--window-size=1400,1000"]:
        o.add_argument(a)
    o.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="witness-chromium-"))
    o.binary_location = "/usr/bin/chromium"
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    yield d
    d.quit()


def api(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


def load(browser, url):
    browser.get(url)
    # A hash change on the same page does not reload it: wait for the router's new view.
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready") == "yes",
             "the page to render " + url)


def shot(browser, name):
    os.makedirs(SHOTS, exist_ok=True)
    browser.save_screenshot(os.path.join(SHOTS, name + ".png"))


def test_timeline_and_filters(served, browser):
    base, _, _ = served
    load(browser, base + "/")
    size = api(base, "/v1/stats")["size"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr")
    assert len(rows) == min(size, 50)
    assert rows[0].get_attribute("data-seq") == str(size - 1)  # newest first
    assert str(size) in browser.find_element(By.ID, "head").text
    shot(browser, "explorer-timeline")
    # Filter by origin through the form.
    field = browser.find_element(By.CSS_SELECTOR, "#filters input[name=origin]")
    field.send_keys("alert.triage")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_for(lambda: "origin=alert.triage" in browser.current_url, "the filter in the URL")
    want = api(base, "/v1/entries?origin=alert.triage&order=newest&limit=50")["entries"]
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr")) == len(want),
             "the filtered rows")
    seqs = [r.get_attribute("data-seq") for r in
            browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr")]
    assert seqs == [str(e["seq"]) for e in want]
    assert all(r.text.split()[2] == "alert.triage" for r in
               browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr"))


def test_entry_links_and_causal_graph(served, browser):
    base, _, _ = served
    entries = api(base, "/v1/entries?limit=100")["entries"]
    # An entry with a link and with descendants: the middle of the incident.
    linked = [e for e in entries if e["links"]]
    e = linked[len(linked) // 2]
    load(browser, base + "/#/entry/%d" % e["seq"])
    payload = json.loads(browser.find_element(By.ID, "payload").text)
    assert payload == e["payload"]
    # The graph: every entry within 3 steps either way, and every step an edge.
    up = api(base, "/v1/lineage/%s?direction=ancestors&depth=3" % e["id"])["steps"]
    down = api(base, "/v1/lineage/%s?direction=descendants&depth=3" % e["id"])["steps"]
    seq_of = {s["entry"]["id"]: s["entry"]["seq"] for s in up + down}
    seq_of[e["id"]] = e["seq"]
    want_nodes = {str(v) for v in seq_of.values()}
    want_edges = {(str(s["entry"]["seq"]), str(seq_of[s["from"]])) for s in up}
    want_edges |= {(str(seq_of[s["from"]]), str(s["entry"]["seq"])) for s in down}
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#graph g.node"), "the graph")
    nodes = {g.get_attribute("data-seq") for g in
             browser.find_elements(By.CSS_SELECTOR, "#graph g.node")}
    edges = {(p.get_attribute("data-from"), p.get_attribute("data-to")) for p in
             browser.find_elements(By.CSS_SELECTOR, "#graph path.edge")}
    assert nodes == want_nodes and len(nodes) > 2
    assert edges == want_edges and edges
    shot(browser, "explorer-entry")
    # Follow the first link: the target entry's page.
    link = browser.find_element(By.CSS_SELECTOR, "#links a")
    target = link.get_attribute("data-target")
    link.click()
    wait_for(lambda: target in browser.find_element(By.ID, "fields").text
             if browser.find_elements(By.ID, "fields") else False, "the linked entry")


def test_in_browser_proof_passes_and_fails_when_tampered(served, browser):
    base, _, _ = served
    load(browser, base + "/#/entry/5")
    browser.find_element(By.ID, "verify").click()
    result = browser.find_element(By.ID, "proof-result")
    verdict = wait_for(lambda: result.get_attribute("data-verdict"), "the proof verdict")
    assert verdict == "ok", result.text
    assert "Verified: entry 5" in result.text
    shot(browser, "explorer-proof-ok")
    browser.find_element(By.ID, "tamper").click()
    browser.find_element(By.ID, "verify").click()
    verdict = wait_for(lambda: result.get_attribute("data-verdict"), "the tampered verdict")
    assert verdict == "fail", result.text
    assert "does not lead to the checkpoint's root" in result.text
    shot(browser, "explorer-proof-tampered")
    errors = [l for l in browser.get_log("browser") if l["level"] == "SEVERE"]
    assert not errors, errors


def test_an_append_elsewhere_is_announced(served, browser):
    base, ledger, d = served
    load(browser, base + "/")
    lines = os.path.join(d, "late.jsonl")
    with open(lines, "w") as f:
        f.write('{"origin":"agent.late","kind":"agent.action","payload":{"late":true}}\n')
    # agent.late holds no covenant: appended ungated, which records a covenant.bypass first.
    subprocess.run([WITNESS, "append", "--ledger", ledger, "--no-gate", "--bypass-note", "test",
                    lines], check=True, capture_output=True)
    fresh = browser.find_element(By.ID, "fresh")
    wait_for(lambda: fresh.is_displayed() and "2 new entries" in fresh.text,
             "the new-entries notice")
    fresh.click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr") and
             "agent.late" in browser.find_elements(By.CSS_SELECTOR, "#entries tbody tr")[0].text,
             "the new entry at the top")


def test_agents_budgets_and_denials(served, browser):
    base, _, _ = served
    want = {a["subject"]: a for a in api(base, "/v1/agents")["agents"]}
    triage = want["alert.triage"]
    assert triage["denials"] == 1
    # One call of 1,200 tokens went in (the lease settled at the writer's close: exact).
    assert triage["budget"]["calls"]["spent"] == 1
    assert triage["budget"]["tokens"]["spent"] == 1200
    load(browser, base + "/#/agents")
    card = wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, ".agent[data-subject='alert.triage']"), "the agent's card")[0]
    assert card.get_attribute("data-state") == "in force"
    bars = {b.get_attribute("data-dimension"): b for b in
            card.find_elements(By.CSS_SELECTOR, "svg.bar")}
    assert set(bars) == set(triage["budget"])
    for dim, b in triage["budget"].items():
        assert bars[dim].get_attribute("data-spent") == str(b["spent"])
        assert bars[dim].get_attribute("data-limit") == ("" if b["limit"] is None else str(b["limit"]))
    for dim, b in triage["budget"].items():
        used = bars[dim].find_elements(By.CSS_SELECTOR, "rect.used")
        if b["limit"] is not None:
            width = int(used[0].get_attribute("width"))
            assert (width > 0) == (b["spent"] > 0) and width <= 220
            assert abs(width - 220 * min(1, b["spent"] / b["limit"])) <= 2
    assert card.find_element(By.CSS_SELECTOR, "[data-denials]").get_attribute("data-denials") == "1"
    denial = card.find_element(By.CSS_SELECTOR, "ul.denials li")
    assert "not-permitted" in denial.text or "forbidden" in denial.text, denial.text
    shot(browser, "explorer-agents")


def test_detector_run_alerts_phases_and_rate_chart(served, browser):
    base, _, _ = served
    runs = api(base, "/v1/detector/runs")["runs"]
    assert len(runs) == 1
    run_id = runs[0]["id"]
    want = api(base, "/v1/detector/runs/" + run_id)
    assert want["alerts"], "the icmp flood raised no alert"
    load(browser, base + "/#/detector")
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == [run_id]
    rows[0].click()
    wait_for(lambda: browser.current_url.endswith("#/detector/" + run_id), "the run's page")
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready") == "yes"
             and browser.find_elements(By.ID, "alert-count"), "the run to render")
    assert browser.find_element(By.ID, "alert-count").text == str(len(want["alerts"]))
    # The rate chart: one point per bucket with a rate, one span per alert.
    series = want["run"]["payload"]["series"]
    chart = browser.find_element(By.ID, "rate-chart")
    line = chart.find_element(By.CSS_SELECTOR, "polyline.rate")
    assert line.get_attribute("data-points") == str(sum(1 for r in series["rate"] if r))
    spans = chart.find_elements(By.CSS_SELECTOR, "rect.alert-span")
    assert [(int(s.get_attribute("data-onset")), int(s.get_attribute("data-offset"))) for s in spans] == \
        [(a["payload"]["alert"]["onset"], a["payload"]["alert"]["offset"]) for a in want["alerts"]]
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect.phase")) == len(want["run"]["payload"]["phases"])
    assert chart.find_elements(By.CSS_SELECTOR, "polyline.attack")
    # Recall and FPR per phase, as the run recorded them.
    phases = {p["phase"]: p for p in want["run"]["payload"]["phases"]}
    shown = browser.find_elements(By.CSS_SELECTOR, "#phases tbody tr")
    assert [r.get_attribute("data-phase") for r in shown] == list(phases)
    for r in shown:
        p = phases[r.get_attribute("data-phase")]
        for attr, key in (("data-recall", "recall"), ("data-fpr", "false_positive_rate")):
            got = r.get_attribute(attr)
            assert (got == "") if p[key] is None else abs(float(got) - p[key]) < 1e-9
    flood = max(phases.values(), key=lambda p: p["attack"])
    assert flood["recall"] > 0.9
    # Each alert with its explanation's fields, linked to its entry.
    cards = browser.find_elements(By.CSS_SELECTOR, "#alerts .alert")
    assert [c.get_attribute("data-seq") for c in cards] == [str(a["seq"]) for a in want["alerts"]]
    for c, a in zip(cards, want["alerts"]):
        fields = [r.get_attribute("data-field") for r in c.find_elements(By.CSS_SELECTOR, "tr[data-field]")]
        assert fields == [f["field"] for f in a["payload"]["alert"]["explanation"]]
    shot(browser, "explorer-detector")
    cards[0].find_element(By.CSS_SELECTOR, "h4 a").click()
    wait_for(lambda: browser.current_url.endswith("#/entry/" + str(want["alerts"][0]["seq"])),
             "the alert's entry")
