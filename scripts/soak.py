#!/usr/bin/env python3
"""Soak test: venice-agent in front of a faulty venice-sim, under load, SIGKILLed and restarted.

    scripts/soak.py BIN_DIR [--minutes N] [--workdir DIR] [--seed N]      (SOAK_MINUTES sets the default, 5)

BIN_DIR holds venice-agent and venice-sim. The simulator injects 429/500 answers, cut
responses and a clock offset. The agent runs with a fixed state dir and keystore and modest
caps (auto top-up on); named clients with random routes and budgets hit images, speech,
balance, status and spend; the owner runs parallel top-ups now and then; the agent is
SIGKILLed at random moments (half of them just after a top-up burst starts) and restarted on
the same socket. At the end the money, caps, budgets, answers and memory are checked; the
exit status is 1 when a check fails. Logs and the ledger stay in the work dir.
"""
import argparse
import json
import os
import random
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import httpx

TOPUP_CAP_USD = 8
DAILY_CAP_USD = 100
AUTO_TOPUP_USD = 5
DEFAULT_DAILY_USD = 20
DEFAULT_MAX_REQUEST_USD = 1
SIM_FAULTS = ["--fail-rate", "429=0.05,500=0.02", "--reset-rate", "0.02"]
ROUTE_GROUPS = ["image", "audio", "wallet"]
TOPUP_AMOUNTS = [5, 5, 6, 7.5, 8, 8, 9, 12, 3]          # 9 and 12 are over the cap, 3 under Venice's $5 minimum
READ_TIMEOUT_S = 240                                    # three 429 retries with Retry-After 30 fit easily
MICRO = 1_000_000


def micro(usd) -> int:
    return int(round(float(usd) * MICRO))


def usd(m) -> str:
    return f"${m / MICRO:,.6f}".rstrip("0").rstrip(".") if m % 10_000 else f"${m / MICRO:,.2f}"


def utc_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d")


def log(msg: str):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Soak:
    def __init__(self, bin_dir: Path, minutes: float, workdir: Path, seed: int, clock_offset_s: int):
        self.faults = SIM_FAULTS + ["--clock-offset-s", str(clock_offset_s)]
        self.bin = bin_dir
        self.minutes = minutes
        self.duration = minutes * 60
        self.work = workdir
        self.rng = random.Random(seed)
        self.seed = seed
        self.sock = workdir / "s" / "agent.sock"
        self.state = workdir / "state"
        self.keystore = workdir / "key.json"
        self.pw = workdir / "pw"
        self.config = workdir / "config.toml"
        self.sim_proc = None
        self.upstream = None
        # agent incarnations
        self.lock = threading.Lock()             # held while killing/restarting
        self.up = threading.Event()
        self.proc = None
        self.incarnations = []                   # dicts: pid, started, ready, killed, open_at_kill
        self.kills = []                          # (time, kind)
        self.rss = []                            # (incarnation index, seconds since ready, kB)
        self.stop = threading.Event()
        self.results = []                        # one dict per request
        self.results_lock = threading.Lock()
        self.topups = []                         # one dict per top-up request
        self.clients = []                        # dicts: name, token, routes, max_request_usd, daily_usd
        self.balance_lock = threading.Lock()
        self.last_balance = 0.0
        self.t0 = time.time()

    # ---------------------------------------------------------------- processes

    def start_sim(self):
        port_file = self.work / "sim.port"
        self.sim_log = open(self.work / "sim.log", "ab")
        self.sim_proc = subprocess.Popen([str(self.bin / "venice-sim"), "--port", "0", "--port-file", str(port_file), *self.faults],
                                         stdout=self.sim_log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.sim_proc.poll() is not None:
                raise RuntimeError(f"venice-sim exited with {self.sim_proc.returncode}")
            if time.time() > deadline:
                raise RuntimeError("venice-sim did not start within 30 s")
            time.sleep(0.05)
        self.upstream = f"http://127.0.0.1:{port_file.read_text().strip()}"

    def prepare_agent(self):
        self.pw.write_text("soak\n")
        key = secrets.token_bytes(32).hex()
        subprocess.run([str(self.bin / "venice-agent"), "key", "import", "--keystore", str(self.keystore), "--password-file", str(self.pw),
                        "--scrypt-n", "1024"], input=key.encode(), check=True, capture_output=True, timeout=60)
        self.address = subprocess.run([str(self.bin / "venice-agent"), "key", "address", "--keystore", str(self.keystore)],
                                      check=True, capture_output=True, timeout=60).stdout.decode().strip()
        self.config.write_text(f"""# written by scripts/soak.py
[payments]
topup_cap_usd = {TOPUP_CAP_USD}
daily_cap_usd = {DAILY_CAP_USD}
auto_topup = true
auto_topup_usd = {AUTO_TOPUP_USD}

[default]
routes = ["image", "audio", "text", "video", "billing", "wallet"]
max_request_usd = {DEFAULT_MAX_REQUEST_USD}
daily_usd = {DEFAULT_DAILY_USD}
""")

    def start_agent(self):
        """Starts an incarnation and waits for its socket (called with self.lock held or before the load)."""
        n = len(self.incarnations)
        out = self.work / f"agent-{n}.stdout"
        with open(self.work / "agent.log", "ab") as f:
            f.write(f"\n===== soak: incarnation {n} starting at {time.strftime('%H:%M:%S')} =====\n".encode())
        err = open(self.work / "agent.log", "ab")
        started = time.time()
        proc = subprocess.Popen([str(self.bin / "venice-agent"), "serve", "--keystore", str(self.keystore), "--password-file", str(self.pw),
                                 "--socket", str(self.sock), "--upstream", self.upstream + "/api/v1", "--state-dir", str(self.state),
                                 "--config", str(self.config), "--print-env"],
                                stdout=open(out, "wb"), stderr=err)
        err.close()
        deadline = time.time() + 60
        while "VENICE_AGENT_SOCK=" not in (out.read_text() if out.exists() else ""):
            if proc.poll() is not None:
                raise RuntimeError(f"venice-agent exited with {proc.returncode} at start; see {self.work / 'agent.log'}")
            if time.time() > deadline:
                raise RuntimeError("venice-agent did not open its socket within 60 s")
            time.sleep(0.02)
        self.proc = proc
        self.incarnations.append({"pid": proc.pid, "started": started, "ready": time.time(), "killed": None, "open_at_kill": []})
        self.up.set()

    def kill_and_restart(self, kind: str):
        with self.lock:
            if self.stop.is_set():
                return
            self.up.clear()
            t = time.time()
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            inc = self.incarnations[-1]
            inc["killed"] = t
            inc["open_at_kill"] = self.open_intents()
            self.kills.append((t, kind))
            log(f"SIGKILL agent pid {inc['pid']} ({kind}); open payment intents: {len(inc['open_at_kill'])}")
            time.sleep(self.rng.uniform(0, 1.5))
            self.start_agent()
            log(f"agent restarted, pid {self.proc.pid} (down {time.time() - t:.2f} s)")

    # ---------------------------------------------------------------- ledger

    def db(self):
        return sqlite3.connect(f"file:{self.state / 'ledger.sqlite'}?mode=ro", uri=True, timeout=30)

    def open_intents(self):
        try:
            with self.db() as c:
                return c.execute("SELECT id, state, amount_micro FROM topups WHERE state IN ('reserved','pending','unknown')").fetchall()
        except sqlite3.Error:
            return []

    # ---------------------------------------------------------------- HTTP

    def client(self):
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.sock)), base_url="http://agent",
                            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=10))

    def call(self, http, method, path, kind, who, token=None, body=None, check_body=None):
        """One request; returns the result row (also recorded)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        row = {"kind": kind, "client": who, "start": time.time(), "inc": len(self.incarnations) - 1}
        try:
            with http.stream(method, path, json=body, headers=headers) as r:
                row["status"] = r.status_code
                try:
                    data = r.read()
                except httpx.TimeoutException as e:
                    row["outcome"] = "hung (body)"
                    row["error"] = repr(e)
                    data = None
                except httpx.HTTPError as e:
                    row["outcome"] = "body cut"
                    row["error"] = repr(e)
                    data = None
                if data is not None:
                    row["outcome"] = "answered"
                    if r.status_code >= 400:
                        try:
                            j = json.loads(data)
                            row["json_error"] = isinstance(j, dict)
                            err = j.get("error") if isinstance(j, dict) else None
                            row["code"] = err.get("code") if isinstance(err, dict) else (j.get("code") if isinstance(j, dict) else None)
                        except Exception:
                            row["json_error"] = False
                            row["error"] = data[:200].decode(errors="replace")
                    elif check_body is not None:
                        try:
                            row["body_ok"] = bool(check_body(data))
                        except Exception:
                            row["body_ok"] = False
                        if not row["body_ok"]:
                            row["error"] = f"{len(data)} bytes: {data[:120]!r}"
                    row["data"] = data if kind in ("topup", "tx", "balance-final") else None
        except httpx.TimeoutException as e:
            row["outcome"] = "hung"
            row["error"] = repr(e)
        except httpx.HTTPError as e:
            row["outcome"] = "transport"
            row["error"] = repr(e)
        row["end"] = time.time()
        with self.results_lock:
            self.results.append(row)
        return row

    # ---------------------------------------------------------------- load

    def make_clients(self):
        names = ["alpha", "bravo", "charlie", "delta"]
        with self.client() as http:
            for name in names:
                routes = sorted(self.rng.sample(ROUTE_GROUPS, self.rng.randint(1, 3)))
                if "image" not in routes and self.rng.random() < 0.6:
                    routes = sorted(routes + ["image"])
                spec = {"name": f"soak-{name}", "routes": routes,
                        "max_request_usd": self.rng.choice([0.005, 0.02, 0.05, 0.5]),
                        "daily_usd": self.rng.choice([0.1, 0.25, 0.5, 1.0])}
                r = http.post("/agent/v1/clients", json=spec)
                r.raise_for_status()
                spec["token"] = r.json()["token"]
                self.clients.append(spec)

    NEEDS = {"image": "image", "speech": "audio", "balance": "wallet"}

    def pick_route(self, rng, spec):
        """Mostly routes the client may use; now and then one it may not (a 403 is expected)."""
        for _ in range(5):
            route = self.pick_any_route(rng)
            need = self.NEEDS.get(route)
            if spec is None or need is None or need in spec["routes"] or rng.random() < 0.1:
                return route
        return "status"

    def pick_any_route(self, rng):
        x = rng.random()
        if x < 0.40:
            return "image"
        if x < 0.62:
            return "speech"
        if x < 0.68:
            with self.balance_lock:                  # the simulator allows 30 balance reads per minute per wallet
                if time.time() - self.last_balance > 5:
                    self.last_balance = time.time()
                    return "balance"
            return "status"
        if x < 0.83:
            return "status"
        if x < 0.99:
            return "spend"
        return "topup-as-client"

    def worker(self, index, spec):
        rng = random.Random(self.seed * 1000 + index)
        who = spec["name"] if spec else "default"
        token = spec["token"] if spec else None
        http, inc = None, -1
        n = 0
        while not self.stop.is_set():
            if not self.up.wait(timeout=1):
                continue
            if inc != len(self.incarnations) - 1 or http is None:   # a fresh pool per incarnation
                if http:
                    http.close()
                http, inc = self.client(), len(self.incarnations) - 1
            n += 1
            route = self.pick_route(rng, spec)
            if route == "image":
                self.call(http, "POST", "/api/v1/image/generate", route, who, token,
                          {"model": "z-image-turbo", "prompt": f"soak {who} {n}", "width": 64, "height": 64, "format": "png"},
                          check_body=lambda d: json.loads(d)["images"][0])
            elif route == "speech":
                self.call(http, "POST", "/api/v1/audio/speech", route, who, token,
                          {"model": "tts-kokoro", "input": f"Soak test {n}.", "voice": "af_sky", "response_format": "wav"},
                          check_body=lambda d: d[:4] == b"RIFF" and len(d) > 44)
            elif route == "balance":
                self.call(http, "GET", "/agent/v1/balance", route, who, token, check_body=lambda d: "balance_usd" in json.loads(d))
            elif route == "status":
                self.call(http, "GET", "/agent/v1/status", route, who, token, check_body=lambda d: "address" in json.loads(d))
            elif route == "spend":
                self.call(http, "GET", "/agent/v1/spend", route, who, token, check_body=lambda d: "rows" in json.loads(d))
            else:
                self.call(http, "POST", "/agent/v1/topup", route, who, token, {"usd": 5})
            self.stop.wait(rng.uniform(0.1, 0.6))
        if http:
            http.close()

    def topup_burst(self, label):
        """2–4 parallel owner top-ups with random amounts (some over the cap)."""
        def one(amount):
            if not self.up.wait(timeout=60):
                return
            with self.client() as http:
                row = self.call(http, "POST", "/agent/v1/topup", "topup", "owner", None, {"usd": amount})
            row["amount"] = amount
            row["burst"] = label
            self.topups.append(row)
        threads = [threading.Thread(target=one, args=(self.rng.choice(TOPUP_AMOUNTS),), daemon=True)
                   for _ in range(self.rng.randint(2, 4))]
        for t in threads:
            t.start()
        return threads

    def topup_loop(self):
        bursts = []
        bursts += self.topup_burst("initial")
        while not self.stop.wait(self.rng.uniform(15, 35)):
            bursts += self.topup_burst("periodic")
        for t in bursts:
            t.join(timeout=READ_TIMEOUT_S)

    def killer_loop(self):
        # Kills only in the first part, so the last incarnation lives long enough for its memory check.
        kill_end = self.t0 + max(self.duration * 0.5, self.duration - 150)
        bursts = []
        while True:
            wait = self.rng.uniform(12, 30) if self.minutes > 1.5 else self.rng.uniform(6, 12)
            if self.stop.wait(wait) or time.time() > kill_end:
                break
            if self.rng.random() < 0.5:
                bursts += self.topup_burst("kill")
                time.sleep(self.rng.uniform(0.0, 0.3))
                self.kill_and_restart("during top-ups")
            else:
                self.kill_and_restart("random")
        for t in bursts:
            t.join(timeout=READ_TIMEOUT_S)

    def rss_loop(self):
        while not self.stop.is_set():
            if self.up.is_set():
                inc = len(self.incarnations) - 1
                pid = self.incarnations[inc]["pid"]
                try:
                    for line in open(f"/proc/{pid}/status"):
                        if line.startswith("VmRSS:"):
                            self.rss.append((inc, time.time() - self.incarnations[inc]["ready"], int(line.split()[1])))
                except OSError:
                    pass
            self.stop.wait(1)

    # ---------------------------------------------------------------- end

    def wait_resolved(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.open_intents():
                return True
            time.sleep(1)
        return False

    def read_transactions(self):
        """All of the wallet's rows at the simulator, paged slowly (20 reads per minute per wallet)."""
        rows, offset = [], 0
        with self.client() as http:
            while True:
                for attempt in range(20):
                    r = self.call(http, "GET", f"/api/v1/x402/transactions/me?limit=100&offset={offset}", "tx", "owner")
                    if r.get("status") == 200:
                        break
                    time.sleep(6)
                else:
                    raise RuntimeError(f"cannot read the transactions at offset {offset}: {r.get('status')} {r.get('error')}")
                data = json.loads(r["data"])["data"]
                rows += data["transactions"]
                if not data["pagination"]["hasMore"]:
                    break
                offset += 100
                time.sleep(3.5)
            bal = None
            for attempt in range(10):
                r = self.call(http, "GET", "/api/v1/x402/balance/me", "balance-final", "owner")
                if r.get("status") == 200:
                    bal = json.loads(r["data"])["data"]["balanceUsd"]
                    break
                time.sleep(6)
        return rows, bal

    # ---------------------------------------------------------------- run

    def run(self) -> int:
        log(f"work dir {self.work}, {self.minutes:g} min, seed {self.seed}")
        self.start_sim()
        self.prepare_agent()
        self.start_agent()
        log(f"venice-sim at {self.upstream} ({' '.join(self.faults)}); agent pid {self.proc.pid} for {self.address} on {self.sock}")
        self.make_clients()
        for c in self.clients:
            log(f"client {c['name']}: routes {','.join(c['routes'])}, max/request ${c['max_request_usd']}, daily ${c['daily_usd']}")
        self.t0 = time.time()
        specs = self.clients + [self.clients[0], self.clients[1], None]   # two clients get two workers; one untokened worker
        threads = [threading.Thread(target=self.worker, args=(i, s), daemon=True) for i, s in enumerate(specs)]
        threads += [threading.Thread(target=self.topup_loop, daemon=True), threading.Thread(target=self.killer_loop, daemon=True),
                    threading.Thread(target=self.rss_loop, daemon=True)]
        for t in threads:
            t.start()
        next_report = self.t0 + 30
        while time.time() < self.t0 + self.duration:
            time.sleep(1)
            if time.time() >= next_report:
                next_report += 30
                with self.results_lock:
                    n, answered = len(self.results), sum(r["outcome"] == "answered" for r in self.results)
                rss = self.rss[-1][2] if self.rss else 0
                log(f"{time.time() - self.t0:5.0f} s: {n} requests ({answered} answered), {len(self.kills)} kills, RSS {rss / 1024:.1f} MiB")
        self.load_end = time.time()
        self.stop.set()
        log("load stopped; waiting for requests in flight")
        for t in threads:
            t.join(timeout=READ_TIMEOUT_S + 30)
        stuck = [t for t in threads if t.is_alive()]
        with self.lock:
            pass                                             # no restart in progress
        log("waiting for open payment intents to be resolved")
        resolved = self.wait_resolved()
        log("letting the simulator's per-minute read limits and the agent's charge reconciliation settle (75 s)")
        time.sleep(75)
        tx, balance = self.read_transactions()
        with self.client() as http:
            try:
                self.final_status = http.get("/agent/v1/status").json()
            except Exception as e:
                self.final_status = {"error": repr(e)}
        return self.report(tx, balance, resolved, stuck)

    def shutdown(self):
        self.stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.sim_proc and self.sim_proc.poll() is None:
            self.sim_proc.terminate()
            try:
                self.sim_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sim_proc.kill()

    # ---------------------------------------------------------------- checks

    def killed_during(self, row) -> bool:
        for i, inc in enumerate(self.incarnations[:-1]):
            k, restart = inc["killed"], self.incarnations[i + 1]["ready"]
            if row["start"] - 0.05 <= k <= row["end"] + 0.05 or k <= row["start"] <= restart:
                return True
        return False

    def report(self, tx, balance, resolved, stuck) -> int:
        checks = []

        def check(name, ok, figure):
            checks.append((name, figure, "PASS" if ok else "FAIL"))

        with self.db() as c:
            c.row_factory = sqlite3.Row
            topups = [dict(r) for r in c.execute("SELECT * FROM topups ORDER BY created_at")]
            requests = [dict(r) for r in c.execute("SELECT client, estimate_micro, charged_micro, status, started_at FROM requests")]
            clients = {r["name"]: r["daily_micro"] for r in c.execute("SELECT name, daily_micro FROM clients")}
            attribution = [(f"{r[0]} {r[1] or '-'} " + ("unexplained" if r[2] == "!unexplained" else "unattributed" if r[2] is None else "attributed"), r[3])
                           for r in c.execute("""SELECT type, model_id, CASE WHEN attributed_to = '!unexplained' OR attributed_to IS NULL
                                                 THEN attributed_to ELSE 'ok' END AS a, COUNT(*) FROM upstream_transactions GROUP BY 1, 2, 3""")]
        clients.setdefault("default", micro(DEFAULT_DAILY_USD))

        # 1. credited at the simulator = settled in the journal
        sim_topups = [r for r in tx if r["type"] == "TOP_UP"]
        credited = sum(micro(r["amount"]) for r in sim_topups)
        settled = sum(t["amount_micro"] for t in topups if t["state"] == "settled")
        check("credited at sim = settled in journal", credited == settled,
              f"sim {len(sim_topups)} TOP_UP {usd(credited)}; journal {sum(t['state'] == 'settled' for t in topups)} settled {usd(settled)}")

        # 2. caps
        committed = [t for t in topups if t["state"] != "failed"]
        biggest = max([t["amount_micro"] for t in committed] + [micro(r["amount"]) for r in sim_topups] + [0])
        per_day = defaultdict(int)
        for t in committed:
            per_day[utc_day(t["created_at"])] += t["amount_micro"]
        sim_day = defaultdict(int)
        for r in sim_topups:
            sim_day[r["createdAt"][:10]] += micro(r["amount"])
        worst_day = max(list(per_day.values()) + list(sim_day.values()) + [0])
        check("no top-up over the per-top-up cap", biggest <= micro(TOPUP_CAP_USD), f"largest {usd(biggest)} (cap ${TOPUP_CAP_USD})")
        check("no UTC day over the daily cap", worst_day <= micro(DAILY_CAP_USD),
              f"journal {dict((d, usd(v)) for d, v in per_day.items())}, sim {dict((d, usd(v)) for d, v in sim_day.items())} (cap ${DAILY_CAP_USD})")

        # 3. client budgets
        spent = defaultdict(int)
        largest = defaultdict(int)
        for r in requests:
            if r["status"] is not None and 200 <= r["status"] < 400:
                key = (r["client"], utc_day(r["started_at"]))
                spent[key] += r["charged_micro"] if r["charged_micro"] is not None else r["estimate_micro"]
                largest[r["client"]] = max(largest[r["client"]], r["estimate_micro"])
        over = []
        budget_lines = []
        for (client, day), m in sorted(spent.items()):
            limit = clients.get(client)
            budget_lines.append(f"{client} {day}: {usd(m)} of {usd(limit) if limit is not None else 'unlimited'}")
            if limit is not None and m > limit + largest[client]:
                over.append(f"{client} {day} {usd(m)} > {usd(limit)} + {usd(largest[client])}")
        check("no client over its daily budget (+1 estimate)", not over, "; ".join(over) if over else f"{len(spent)} client-days within")

        # 4. every request answered
        load = [r for r in self.results if r["kind"] not in ("tx", "balance-final")]
        cls = Counter()
        bad = []
        for r in load:
            if r["outcome"] == "answered":
                if r["status"] >= 400 and not r.get("json_error"):
                    cls["answered, error not JSON"] += 1
                    bad.append(r)
                elif r["status"] < 400 and r.get("body_ok") is False:
                    cls["answered 2xx, body unreadable"] += 1
                    bad.append(r)
                else:
                    cls["answered"] += 1
            elif self.killed_during(r):
                cls[f"cut by SIGKILL ({r['outcome']})"] += 1
            elif r["outcome"] == "body cut":
                cls["status sent, body cut (upstream reset)"] += 1
            else:
                cls[f"{r['outcome']} (no kill)"] += 1
                bad.append(r)
        if stuck:
            cls["threads still waiting at the end"] = len(stuck)
        ok4 = not bad and not stuck
        check("every request answered (HTTP or JSON error)", ok4,
              f"{len(load)} requests: " + ", ".join(f"{k} {v}" for k, v in sorted(cls.items())))

        # 5. RSS: the last incarnation against its own first minute
        last = len(self.incarnations) - 1
        samples = [(s, kb) for i, s, kb in self.rss if i == last]
        first_min = [kb for s, kb in samples if s <= 60]
        later = [kb for s, kb in samples if s > 60]
        if first_min and later:
            base, final, peak = max(first_min), later[-1], max(later)
            ok5 = peak <= base * 1.10
            figure = (f"incarnation {last} (pid {self.incarnations[last]['pid']}, {samples[-1][0]:.0f} s): first-minute max {base / 1024:.1f} MiB, "
                      f"after it max {peak / 1024:.1f} MiB ({(peak / base - 1) * 100:+.1f}%), last {final / 1024:.1f} MiB")
        else:
            ok5 = True
            figure = f"incarnation {last} ran under 1 min of load: nothing to compare (n/a)"
        check("agent RSS <= first-minute level +10%", ok5, figure)

        # ------------------------------------------------------------ figures
        print()
        print(f"=== soak figures ({self.minutes:g} min of load, seed {self.seed}, work dir {self.work}) ===")
        print(f"simulator faults: {' '.join(self.faults)}; caps: top-up ${TOPUP_CAP_USD}, day ${DAILY_CAP_USD}; auto top-up ${AUTO_TOPUP_USD}")
        for c in self.clients:
            print(f"client {c['name']:<13} routes {','.join(c['routes']):<18} max/request ${c['max_request_usd']:<6} daily ${c['daily_usd']}")
        print(f"\nrequests: {len(load)} ({len(load) / max(self.load_end - self.t0, 1):.1f}/s)")
        by_kind = defaultdict(Counter)
        for r in load:
            key = str(r["status"]) + (f" {r['code']}" if r.get("code") else "") if r["outcome"] == "answered" else r["outcome"]
            by_kind[r["kind"]][key] += 1
        for kind, counter in sorted(by_kind.items()):
            print(f"  {kind:<16} {sum(counter.values()):>6}  " + ", ".join(f"{k}: {v}" for k, v in counter.most_common()))
        statuses = Counter(r["status"] for r in load if r["outcome"] == "answered")
        print("  by HTTP status: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
        lat = sorted(r["end"] - r["start"] for r in load if r["outcome"] == "answered")
        if lat:
            print(f"  latency p50 {statistics.median(lat) * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms, max {lat[-1]:.1f} s")
        if bad:
            print("  unexplained failures (first 10):")
            for r in bad[:10]:
                print(f"    {r['kind']} {r['client']} at +{r['start'] - self.t0:.1f} s: {r['outcome']} {r.get('status')} {r.get('error')}")

        print(f"\ntop-ups requested: {len(self.topups)}")
        outcome = Counter((str(r.get("status")) + (f" {r.get('code')}" if r.get("code") else "")) if r["outcome"] == "answered" else r["outcome"]
                          for r in self.topups)
        print("  answers: " + ", ".join(f"{k}: {v}" for k, v in outcome.most_common()))
        states = Counter(t["state"] for t in topups)
        print("  journal: " + ", ".join(f"{k} {v} ({usd(sum(t['amount_micro'] for t in topups if t['state'] == k))})" for k, v in sorted(states.items())))
        print(f"  simulator: {len(sim_topups)} TOP_UP rows {usd(credited)}; {sum(r['type'] == 'CHARGE' for r in tx)} CHARGE, "
              f"{sum(r['type'] == 'REFUND' for r in tx)} REFUND rows; balance ${balance}")
        print(f"  open intents resolved by the end: {'yes' if resolved else 'NO: ' + str(self.open_intents())}")

        print(f"\nkills: {len(self.kills)} SIGKILLs, {len(self.incarnations) - 1} restarts "
              f"({sum(k == 'during top-ups' for _, k in self.kills)} just after a top-up burst started)")
        for i, inc in enumerate(self.incarnations[:-1]):
            nxt = self.incarnations[i + 1]
            print(f"  +{inc['killed'] - self.t0:6.1f} s pid {inc['pid']}: open intents at kill {len(inc['open_at_kill'])} "
                  f"{[(x[1], usd(x[2])) for x in inc['open_at_kill']]}; back after {nxt['ready'] - inc['killed']:.2f} s")
        null_rows = sum(r["status"] is None for r in requests)
        print(f"  agent status at the end: unexplained_charges {self.final_status.get('unexplained_charges')}; "
              f"reconciled upstream rows: " + ", ".join(f"{k}: {v}" for k, v in attribution))
        print(f"  request rows left without a status (in flight at a kill): {null_rows}")

        print("\nRSS (VmRSS, sampled every second):")
        for i, inc in enumerate(self.incarnations):
            s = [(t, kb) for j, t, kb in self.rss if j == i]
            if not s:
                continue
            fm = [kb for t, kb in s if t <= 60]
            print(f"  incarnation {i} pid {inc['pid']}: {s[-1][0]:.0f} s, first {s[0][1] / 1024:.1f} MiB, "
                  f"first-minute max {max(fm) / 1024:.1f} MiB, max {max(kb for _, kb in s) / 1024:.1f} MiB, last {s[-1][1] / 1024:.1f} MiB")

        print("\nbudgets (successful rows, charged else estimate, per client and UTC day):")
        for line in budget_lines:
            print(f"  {line}")

        print()
        w = max(len(n) for n, _, _ in checks)
        print(f"{'check':<{w}}  result  figures")
        for name, figure, result in checks:
            print(f"{name:<{w}}  {result:<6}  {figure}")
        failed = [n for n, _, r in checks if r == "FAIL"]
        print(f"\nsoak: {'FAIL' if failed else 'PASS'} ({len(checks) - len(failed)}/{len(checks)} checks passed); logs in {self.work}")
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bin_dir", type=Path)
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or 5))
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--clock-offset-s", type=int, default=90, help="venice-sim --clock-offset-s (default 90)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED") or secrets.randbelow(1 << 20)))
    args = parser.parse_args()
    for name in ("venice-agent", "venice-sim"):
        if not (args.bin_dir / name).exists():
            sys.exit(f"soak: {args.bin_dir / name} is missing")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="venice-soak-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    soak = Soak(args.bin_dir.resolve(), args.minutes, work, args.seed, args.clock_offset_s)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        code = soak.run()
    except KeyboardInterrupt:
        code = 130
    finally:
        soak.shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
