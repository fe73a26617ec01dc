"""Red-team tests: the agent (and venice-sim) as real processes under attack from local programs, other
uids and a hostile upstream. Every test asserts the safe behaviour by checking the thing that would go
wrong: money credited at the simulator, signatures made, the daemon's liveness, bytes a fake listener got.

Runs as root (it drops to uid 65534 for the other-user cases). Targets: loopback and Unix sockets only.
"""
import contextlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from agent_processes import agent, client, simulator
from cli_support import cli, new_key
from conftest import binary, run

NOBODY = 65534
CHEAP_IMAGE = {"model": "z-image-turbo", "prompt": "a dot", "width": 64, "height": 64, "format": "png"}
EXPENSIVE_IMAGE = {"model": "gpt-image-2", "prompt": "x", "resolution": "4K", "quality": "high"}
PASSWORD = "interop"  # what agent_processes.agent() writes to the password file

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attack suite switches to uid 65534: run as root")


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

def error_code(response) -> str:
    try:
        return response.json()["error"]["code"]
    except Exception:
        return f"<no agent error: {response.status_code} {response.text[:200]!r}>"


def status(sock) -> dict:
    with client(sock) as c:
        answer = c.get("/agent/v1/status", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_alive(proc, sock):
    assert proc.poll() is None, f"the agent died (exit {proc.returncode})"
    status(sock)


def sim_balance(sock) -> float:
    """The wallet's credit as the simulator sees it (read through the agent)."""
    with client(sock) as c:
        answer = c.get("/api/v1/x402/balance/me")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["balanceUsd"]


def sim_top_ups(sock) -> list:
    """The amounts of the simulator's TOP_UP rows for the wallet (initial funding included)."""
    with client(sock) as c:
        answer = c.get("/api/v1/x402/transactions/me", params={"limit": 100})
    assert answer.status_code == 200, answer.text
    return sorted(r["amount"] for r in answer.json()["data"]["transactions"] if r["type"] == "TOP_UP")


def forwarded_requests(sock) -> int:
    """Client requests the agent has forwarded to Venice (each one signed, when its route signs in),
    from the agent's metrics. Unlike the session's signature count, background work (charge
    reconciliation, balance reads) never moves it, so it is exact at any moment."""
    with client(sock) as c:
        text = c.get("/metrics").text
    for line in text.splitlines():
        if line.startswith('venice_agent_phase_seconds_count{phase="signing"}'):
            return int(float(line.split()[-1]))
    return 0


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_client(sock, name, **fields) -> str:
    with client(sock) as c:
        answer = c.post("/agent/v1/clients", json={"name": name, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def parallel(fn, args_list, workers=None):
    with ThreadPoolExecutor(max_workers=workers or len(args_list)) as pool:
        return list(pool.map(fn, args_list))


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix socket: sends paths and headers exactly as given (no normalisation)."""

    def __init__(self, path, timeout=30):
        super().__init__("agent", timeout=timeout)
        self.unix_path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def raw(sock, method, path, headers=(), body=None, timeout=30):
    """One request with literal path and header list; returns (status, {header: value}, body)."""
    conn = UnixHTTPConnection(sock, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def raw_code(body: bytes) -> str:
    try:
        return json.loads(body)["error"]["code"]
    except Exception:
        return f"<no agent error: {body[:200]!r}>"


def exchange(sock, data: bytes, timeout=5.0) -> bytes:
    """Writes raw bytes and reads until the agent closes or `timeout` passes without data."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def keystore_file(path: Path, key_hex: str, password: str = PASSWORD, scrypt_n: int = 1024) -> Path:
    run([binary("venice-agent"), "key", "import", "--keystore", path, "--password-file", write(path.parent / "ks-pw", password + "\n"),
         "--scrypt-n", scrypt_n], stdin=key_hex.encode())
    return path


def write(path: Path, text: str) -> Path:
    Path(path).write_text(text)
    return Path(path)


@contextlib.contextmanager
def config_agent(upstream, key, config_text, *extra, workdir=None):
    """agent_processes.agent() with a TOML config file."""
    workdir = workdir or tempfile.mkdtemp(prefix="va-", dir="/tmp")
    config = write(Path(workdir) / "config.toml", config_text)
    with agent(upstream, key, "--config", config, *extra, workdir=workdir) as running:
        yield running


@contextlib.contextmanager
def locked_agent(upstream_base, keystore: Path, workdir: Path, *extra):
    """`venice-agent serve` without a password file (starts locked); yields (socket, process)."""
    sock = workdir / "s" / "agent.sock"
    log = open(workdir / "agent.log", "ab")
    proc = subprocess.Popen([str(binary("venice-agent")), "serve", "--keystore", str(keystore), "--socket", str(sock),
                             "--upstream", upstream_base + "/api/v1", "--state-dir", str(workdir / "state"), "--print-env",
                             *map(str, extra)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith(f"VENICE_AGENT_SOCK={sock};"), line
        yield sock, proc
    finally:
        stop(proc)
        log.close()


def stop(proc, timeout=20):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_must_refuse(*args, timeout=30) -> str:
    """Runs `venice-agent serve ARGS`; it must exit non-zero on its own (never start listening). Returns stderr."""
    proc = subprocess.Popen([str(binary("venice-agent")), "serve", *map(str, args), "--print-env"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"serve did not exit within {timeout} s; stdout={out!r} stderr={err[-2000:]!r}")
    assert b"VENICE_AGENT_SOCK=" not in out, f"serve started listening: {out!r}"
    assert proc.returncode > 0, f"serve exited {proc.returncode} (negative = killed by a signal); stderr={err[-2000:]!r}"
    return err.decode(errors="replace")


def assert_no_crash_text(text: str):
    for marker in ("Fatal error", "Stack dump", "Trace/breakpoint", "Illegal instruction", "Segmentation", "Current stack trace"):
        assert marker not in text, f"{marker!r} in output:\n{text[-3000:]}"


def shared_tmp() -> Path:
    """A fresh folder under /tmp that uid 65534 can traverse (mode 0755)."""
    base = Path(tempfile.mkdtemp(prefix="va-shared-", dir="/tmp"))
    base.chmod(0o755)
    return base


def folder_owned_by_nobody() -> Path:
    base = shared_tmp()
    folder = base / "nobody"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)
    folder.chmod(0o755)
    return folder


# --- a child process as uid 65534 ---

class AsNobody:
    """Runs `fn(*args)` in a forked child that has dropped to uid/gid 65534; `result()` is its JSON
    return value. The child gets `self.stop_fd` (readable, EOF once `stop()` is called) as a kwarg
    when `stoppable`."""

    def __init__(self, fn, *args, stoppable=False):
        self.result_r, result_w = os.pipe()
        stop_r, self.stop_w = os.pipe() if stoppable else (None, None)
        self.pid = os.fork()
        if self.pid == 0:  # child
            try:
                os.close(self.result_r)
                if self.stop_w is not None:
                    os.close(self.stop_w)
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                value = fn(*args, stop_fd=stop_r) if stoppable else fn(*args)
                out = json.dumps({"ok": value}).encode()
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                out = json.dumps({"error": repr(e)}).encode()
            try:
                view = memoryview(out)
                while view:
                    view = view[os.write(result_w, view):]
            finally:
                os._exit(0)
        os.close(result_w)
        if stop_r is not None:
            os.close(stop_r)

    def stop(self):
        if self.stop_w is not None:
            os.close(self.stop_w)
            self.stop_w = None

    def result(self, timeout=60):
        self.stop()
        data, deadline = b"", time.time() + timeout
        try:
            while time.time() < deadline:
                ready, _, _ = select.select([self.result_r], [], [], max(0.0, deadline - time.time()))
                if not ready:
                    break
                chunk = os.read(self.result_r, 65536)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(self.result_r)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        assert data, "the uid-65534 child gave no result in time"
        answer = json.loads(data)
        assert "ok" in answer, f"uid-65534 child failed: {answer.get('error')}"
        return answer["ok"]


def as_nobody(fn, *args, timeout=60):
    return AsNobody(fn, *args).result(timeout)


def nobody_listener(path, ready_path, stop_fd):
    """A fake agent as uid 65534: accepts on `path` and counts the bytes it receives until stopped."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    open(ready_path, "w").close()
    connections, received, open_conns = 0, 0, []
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([listener, stop_fd, *open_conns], [], [], 0.5)
        if stop_fd in ready:
            break
        for s in ready:
            if s is listener:
                conn, _ = listener.accept()
                connections += 1
                open_conns.append(conn)
            elif s is not stop_fd:
                data = s.recv(65536)
                received += len(data)
                if not data:
                    open_conns.remove(s)
                    s.close()
    return {"connections": connections, "received": received}


@contextlib.contextmanager
def fake_agent_of_nobody():
    """A socket in a folder of uid 65534, listened on by a uid-65534 process; yields (path, child)."""
    folder = folder_owned_by_nobody()
    path = folder / "agent.sock"
    ready = folder / "ready"
    child = AsNobody(nobody_listener, str(path), str(ready), stoppable=True)
    deadline = time.time() + 10
    while not ready.exists():
        assert time.time() < deadline, "the uid-65534 listener did not start"
        time.sleep(0.02)
    assert os.stat(path).st_uid == NOBODY
    yield path, child


# --- a hostile (or recording) stand-in for Venice ---

class FakeUpstream:
    """A tiny HTTP server on loopback standing in for Venice. `answer(method, path, headers, body)`
    returns (status, headers dict, body bytes|str) or None for a default 200 {}. Records every request."""

    def __init__(self, answer=None):
        self.answer = answer or (lambda *a: None)
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.command, self.path, headers))
                reply = outer.answer(self.command, self.path, headers, body) or (200, {}, "{}")
                code, extra, payload = reply
                payload = payload.encode() if isinstance(payload, str) else payload
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def paths(self):
        return [path for _, path, _ in self.requests]


@pytest.fixture(scope="module")
def funded():
    """One simulator with a $20 wallet and an unlocked agent; only for tests that neither lock it nor
    need a config. Yields (socket, process)."""
    key, address = new_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, proc, _):
        yield sock, proc


# --------------------------------------------------------------------------------------------
# 1. Crafted numbers
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variants", ["9223372036854775807", "1000000000000000", "-9223372036854775808", "1e300"])
def test_out_of_range_variants_are_a_400_naming_variants_and_the_agent_survives(funded, variants):
    sock, proc = funded
    body = f'{{"model":"z-image-turbo","prompt":"x","width":64,"height":64,"variants":{variants}}}'.encode()
    code, _, answer = raw(sock, "POST", "/api/v1/image/generate", [("Content-Type", "application/json")], body)
    assert code == 400, answer
    assert b"variants" in answer
    assert_alive(proc, sock)


def hostile_venice(method, path, headers, body):
    """Venice answering with absurd numbers: prices, quotes, balances and charges of ±1e300 and beyond."""
    if path.startswith("/api/v1/models"):
        models = ('{"data":['
                  '{"id":"huge-img","type":"image","model_spec":{"pricing":{"generation":{"usd":1e300}}}},'
                  '{"id":"negative-img","type":"image","model_spec":{"pricing":{"generation":{"usd":-1e300}}}},'
                  '{"id":"overflow-img","type":"image","model_spec":{"pricing":{"generation":{"usd":1e400}}}},'
                  '{"id":"huge-music","type":"music","model_spec":{"pricing":{"durations":{"60":{"usd":1e300}}}}}]}')
        return 200, {}, models
    if path.startswith("/api/v1/audio/quote"):
        return 200, {}, '{"quote":1e300}'
    if path.startswith("/api/v1/x402/transactions/"):
        rows = ",".join(f'{{"id":"t{i}","type":"{kind}","amount":{amount},"createdAt":"2020-01-01T00:00:00Z",'
                        f'"requestId":"r{i}","modelId":"huge-img"}}'
                        for i, (kind, amount) in enumerate([("CHARGE", "-1e300"), ("CHARGE", "-1e400"), ("REFUND", "1e300"),
                                                            ("CHARGE", "-9223372036854775808"), ("TOP_UP", "1e308"),
                                                            ("CHARGE", "-0.01")]))
        return 200, {}, f'{{"success":true,"data":{{"transactions":[{rows}]}}}}'
    if path.startswith("/api/v1/x402/balance/"):
        return 200, {}, '{"success":true,"data":{"balanceUsd":-1e300,"canConsume":true}}'
    if path.startswith("/api/v1/audio/queue"):
        return 200, {}, '{"model":"huge-music","queue_id":"q-1","status":"QUEUED"}'
    if path.startswith("/api/v1/image/generate"):
        return 200, {}, '{"id":"img-1","images":[]}'
    return None


def test_hostile_upstream_numbers_neither_kill_the_agent_nor_pass_a_budget():
    key, _ = new_key()
    with FakeUpstream(hostile_venice) as venice, agent(venice.url, key) as (sock, proc, _):
        token = new_client(sock, "limited", max_request_usd=1, daily_usd=1)
        with client(sock) as c:
            # A limited client is never admitted on a price the agent cannot trust.
            for model in ("huge-img", "negative-img", "overflow-img"):
                answer = c.post("/api/v1/image/generate", json={"model": model, "prompt": "x"}, headers=bearer(token))
                assert answer.status_code == 402, (model, answer.text)
            answer = c.post("/api/v1/audio/queue", json={"model": "huge-music", "prompt": "x", "duration_seconds": 60},
                            headers=bearer(token))
            assert answer.status_code == 402, answer.text
            assert "/api/v1/audio/quote" in venice.paths(), "the 1e300 quote was never asked for"
            assert not any(p.startswith("/api/v1/image/generate") or p.startswith("/api/v1/audio/queue") for p in venice.paths())
            # The owner's requests go through; the answers, the reconciliation and the balance are absurd.
            assert c.post("/api/v1/image/generate", json={"model": "huge-img", "prompt": "x"}).status_code == 200
            assert c.post("/api/v1/audio/quote", json={"model": "huge-music", "duration_seconds": 60}).status_code == 200
            assert c.post("/api/v1/audio/queue", json={"model": "huge-music", "prompt": "x", "duration_seconds": 60}).status_code == 200
            c.get("/agent/v1/balance")
            c.get("/api/v1/x402/transactions/me")
        # The reconciler reads the wallet's transactions after a 2xx: of the six rows only the sane,
        # unexplained $0.01 charge may be taken in (and flagged); the absurd amounts are skipped.
        deadline = time.time() + 10
        while status(sock)["unexplained_charges"] == 0 and time.time() < deadline:
            time.sleep(0.2)
        assert status(sock)["unexplained_charges"] == 1, status(sock)
        time.sleep(0.5)
        assert_alive(proc, sock)
        with client(sock) as c:
            for by in ("client", "model", "route", "day"):
                assert c.get("/agent/v1/spend", params={"by": by}).status_code == 200
            assert c.get("/agent/v1/audit").status_code == 200


BASE_USDC_OFFER = {"scheme": "exact", "network": "eip155:8453", "amount": "5000000", "asset": "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
                   "payTo": "0x5eD1a07e5eD1a07e5eD1a07e5ed1A07e5ed1a07E", "maxTimeoutSeconds": 300, "extra": {"name": "USD Coin", "version": "2"}}
HOSTILE_OFFERS = {
    "amount 2^256-1": {"amount": str(2 ** 256 - 1)},
    "amount 2^256": {"amount": str(2 ** 256)},
    "amount -1": {"amount": "-1"},
    "amount 1e300": {"amount": "1e300"},
    "amount as a number": {"amount": 1e300},
    "another asset": {"asset": "0x0000000000000000000000000000000000000bad"},
    "another chain": {"network": "eip155:1"},
    "another EIP-712 domain": {"extra": {"name": "USD Coin", "version": "3"}},
    "timeout 1e300": {"maxTimeoutSeconds": 1e300},
    "timeout -1": {"maxTimeoutSeconds": -1},
    "payTo not an address": {"payTo": "0x" + "f" * 80},
}


def test_hostile_topup_offers_are_never_signed_or_sent():
    key, _ = new_key()
    offer = {}

    def venice(method, path, headers, body):
        if path.startswith("/api/v1/x402/top-up"):
            if any(h in headers for h in ("payment-signature", "x-payment")):
                return 400, {}, '{"code":"PAYMENT_VERIFICATION_FAILED","error":"test upstream"}'
            return 402, {}, json.dumps({"x402Version": 2, "accepts": [{**BASE_USDC_OFFER, **offer}]})
        return None

    def payments(requests):
        return [p for m, p, h in requests if "payment-signature" in h or "x-payment" in h]

    with FakeUpstream(venice) as upstream, agent(upstream.url, key) as (sock, proc, _):
        with client(sock) as c:
            for name, change in HOSTILE_OFFERS.items():
                offer.clear()
                offer.update(change)
                answer = c.post("/agent/v1/topup", json={"usd": 5})
                assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
                assert not payments(upstream.requests), (name, payments(upstream.requests))
            offer.clear()  # control: an honest offer is signed and sent
            c.post("/agent/v1/topup", json={"usd": 5})
        assert payments(upstream.requests), "the honest offer was not paid (control)"
        assert_alive(proc, sock)


@pytest.mark.parametrize("duration", ["1e300", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e400"])
def test_simulator_answers_4xx_to_a_huge_audio_quote_duration_and_survives(duration):
    with simulator() as upstream:
        with httpx.Client(base_url=upstream, timeout=10) as c:
            body = f'{{"model":"ace-step-15","duration_seconds":{duration}}}'
            answer = c.post("/api/v1/audio/quote", content=body, headers={"Content-Type": "application/json"})
            assert 400 <= answer.status_code < 500, answer.text
            assert c.post("/api/v1/audio/quote", json={"model": "ace-step-15", "duration_seconds": 60}).status_code == 200


# --------------------------------------------------------------------------------------------
# 2. Parallel top-ups
# --------------------------------------------------------------------------------------------

def test_parallel_topups_never_credit_more_than_the_daily_cap():
    key, _ = new_key()
    with simulator() as upstream, agent(upstream, key, "--topup-cap-usd", 10, "--daily-cap-usd", 20) as (sock, proc, _):
        def top_up(_):
            with client(sock) as c:
                return c.post("/agent/v1/topup", json={"usd": 10})

        answers = parallel(top_up, range(10))
        paid = [a for a in answers if a.status_code == 200]
        refused = [a for a in answers if a.status_code != 200]
        balance, credited = sim_balance(sock), sum(sim_top_ups(sock))
        assert credited <= 20 and balance <= 20, (credited, balance)
        assert credited == 10 * len(paid), (credited, [a.text for a in paid])
        assert len(paid) == 2, [a.text for a in answers]
        for answer in refused:
            assert 400 <= answer.status_code < 500, answer.text
            assert answer.json()["error"].get("reason") == "daily_cap", answer.text
        assert_alive(proc, sock)


def test_parallel_requests_on_an_empty_wallet_auto_top_up_exactly_once():
    key, address = new_key()
    with simulator("--fund", f"{address}=0.05") as upstream, agent(upstream, key, "--auto-topup") as (sock, proc, _):
        def image(_):
            with client(sock) as c:
                return c.post("/api/v1/image/generate", json={**CHEAP_IMAGE, "variants": 4})

        answers = parallel(image, range(5))
        top_ups = sim_top_ups(sock)
        # The initial funding, then exactly one auto top-up.
        assert top_ups == [0.05, 10], (top_ups, [(a.status_code, a.headers.get("x-agent-auto-topup")) for a in answers])
        assert any(a.status_code == 200 for a in answers), [a.text[:200] for a in answers]
        assert_alive(proc, sock)


# --------------------------------------------------------------------------------------------
# 3. Client budgets
# --------------------------------------------------------------------------------------------

def framings():
    doc = json.dumps(EXPENSIVE_IMAGE).encode()
    padding = b" " * ((1 << 20) + 4096)

    def chunks(data):
        def gen():
            for i in range(0, len(data), 65536):
                yield data[i:i + 65536]
        return gen()

    return {
        "content-length": lambda: {"content": doc},
        "chunked": lambda: {"content": chunks(doc)},
        "padded-past-1MiB": lambda: {"content": padding + doc},
        "padded-and-chunked": lambda: {"content": chunks(padding + doc + padding)},
    }


def test_expensive_request_is_refused_for_a_limited_client_however_the_body_is_framed(funded):
    sock, proc = funded
    token = new_client(sock, "framing", max_request_usd=0.05, daily_usd=0.10)
    balance_before = sim_balance(sock)
    forwarded_before = forwarded_requests(sock)
    for name, make in framings().items():
        with client(sock) as c:
            answer = c.post("/api/v1/image/generate", headers={**bearer(token), "Content-Type": "application/json"}, **make())
        assert answer.status_code == 402, (name, answer.status_code, answer.text[:300])
        assert error_code(answer) == "AGENT_BUDGET_EXCEEDED", (name, answer.text[:300])
    assert forwarded_requests(sock) == forwarded_before, "a refused request was forwarded"
    assert sim_balance(sock) == balance_before


def test_parallel_requests_of_a_limited_client_never_spend_past_its_daily_budget(funded):
    sock, proc = funded
    token = new_client(sock, "parallel", max_request_usd=0.05, daily_usd=0.10)
    before = sim_balance(sock)
    forwarded_before = forwarded_requests(sock)

    def image(_):  # four variants of $0.01: $0.04 each, so at most two fit into $0.10
        with client(sock) as c:
            return c.post("/api/v1/image/generate", json={**CHEAP_IMAGE, "variants": 4}, headers=bearer(token))

    answers = parallel(image, range(8))
    spent = round(before - sim_balance(sock), 6)
    served = [a for a in answers if a.status_code == 200]
    assert spent <= 0.10, (spent, [a.status_code for a in answers])
    assert len(served) <= 2, [a.status_code for a in answers]
    assert all(a.status_code in (200, 402) for a in answers), [a.text[:200] for a in answers]
    assert len(served) >= 1
    assert forwarded_requests(sock) - forwarded_before >= len(served)  # what the budget tests above count


def test_unpriceable_chat_completion_is_refused_for_a_limited_client(funded):
    sock, _ = funded
    token = new_client(sock, "chatty", max_request_usd=0.05, daily_usd=0.10)
    forwarded_before = forwarded_requests(sock)
    with client(sock) as c:
        answer = c.post("/api/v1/chat/completions", headers=bearer(token),
                        json={"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10})
    assert answer.status_code == 402, answer.text
    assert error_code(answer) == "AGENT_PRICE_UNKNOWN"
    assert forwarded_requests(sock) == forwarded_before


# --------------------------------------------------------------------------------------------
# 4. Other uids
# --------------------------------------------------------------------------------------------

ADMIN_ROUTES = [("POST", "/agent/v1/clients", b'{"name":"x"}'), ("POST", "/agent/v1/unlock", b'{"password":"interop"}'),
                ("POST", "/agent/v1/lock", b"{}"), ("POST", "/agent/v1/topup", b'{"usd":1}'), ("GET", "/agent/v1/audit", None),
                ("POST", "/agent/v1/apikey/mint", b'{"type":"ADMIN"}')]


def other_uid_session(sock):
    out = {"uid": os.getuid()}
    code, _, body = raw(sock, "POST", "/api/v1/image/generate", [("Content-Type", "application/json")], json.dumps(CHEAP_IMAGE).encode())
    out["image"] = [code, body[:300].decode(errors="replace")]
    out["admin"] = []
    for method, path, payload in ADMIN_ROUTES:
        code, _, body = raw(sock, method, path, [("Content-Type", "application/json")], payload)
        out["admin"].append([method, path, code, raw_code(body)])
    return out


def test_allowed_other_uid_may_infer_but_every_admin_route_is_refused():
    key, address = new_key()
    workdir = shared_tmp() / "agent"
    workdir.mkdir(mode=0o755)
    with simulator("--fund", f"{address}=20") as upstream, \
            config_agent(upstream, key, f"allowed_uids = [{NOBODY}]\n", workdir=str(workdir)) as (sock, proc, _):
        seen = as_nobody(other_uid_session, str(sock))
        assert seen["uid"] == NOBODY
        assert seen["image"][0] == 200, seen["image"]
        for method, path, code, error in seen["admin"]:
            assert (code, error) == (403, "AGENT_NOT_ALLOWED"), (method, path, code, error)
        assert status(sock)["locked"] is False
        assert sim_top_ups(sock) == [20]  # only the initial funding
        with client(sock) as c:  # the owner still administers
            assert c.get("/agent/v1/audit").status_code == 200
            assert "x" not in [k["name"] for k in c.get("/agent/v1/clients").json()["clients"]]


# --------------------------------------------------------------------------------------------
# 5. Token confinement
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def restricted_token(funded):
    sock, _ = funded
    return new_client(sock, "restricted", routes=["image"], max_request_usd=0.5, daily_usd=1)


def test_client_token_in_any_bearer_spelling_acts_as_that_client(funded, restricted_token):
    sock, _ = funded
    t = restricted_token
    assert raw(sock, "GET", "/agent/v1/audit")[0] == 200  # the owner, untokened
    for value in (f"bearer {t}", f"BEARER {t}", f"Bearer  {t}", f"Bearer\t{t}", f"Bearer {t}  "):
        code, _, body = raw(sock, "GET", "/agent/v1/audit", [("Authorization", value)])
        assert (code, raw_code(body)) == (403, "AGENT_NOT_ALLOWED"), (value.replace(t, "vat_…"), code, body[:200])
        code, _, body = raw(sock, "GET", "/api/v1/x402/balance/me", [("Authorization", value)])
        assert (code, raw_code(body)) == (403, "AGENT_ROUTE_NOT_ALLOWED"), (value.replace(t, "vat_…"), code, body[:200])


def test_client_token_outside_one_bearer_authorization_is_a_401(funded, restricted_token):
    sock, _ = funded
    t = restricted_token
    unknown = "vat_" + "ab" * 24
    cases = {
        "Basic scheme": ("/agent/v1/audit", [("Authorization", f"Basic {t}")]),
        "X-Api-Key": ("/agent/v1/audit", [("X-Api-Key", t)]),
        "two Authorization headers": ("/agent/v1/audit", [("Authorization", f"Bearer {t}"), ("Authorization", "Bearer sk-other")]),
        "two Authorization headers, token second": ("/agent/v1/audit", [("Authorization", "Bearer sk-other"), ("Authorization", f"Bearer {t}")]),
        "query string": (f"/agent/v1/audit?token={t}", []),
        "query string, upper case": (f"/agent/v1/audit?token={t.upper()}", []),
        "unknown token": ("/agent/v1/audit", [("Authorization", f"Bearer {unknown}")]),
        "cookie": ("/agent/v1/audit", [("Cookie", f"token={t}")]),
    }
    for name, (path, headers) in cases.items():
        code, _, body = raw(sock, "GET", path, headers)
        assert code == 401, (name, code, body[:200])


def test_restricted_default_policy_cannot_create_a_broader_client():
    key, address = new_key()
    with simulator() as upstream, config_agent(upstream, key, '[default]\nroutes = ["image"]\n') as (sock, _, _):
        with client(sock) as c:
            broader = c.post("/agent/v1/clients", json={"name": "wide", "routes": ["audio"]})
            assert broader.status_code == 403, broader.text
            everything = c.post("/agent/v1/clients", json={"name": "all"})  # inherits image only
            assert everything.status_code == 200 and everything.json()["routes"] == ["image"], everything.text
            names = [k["name"] for k in c.get("/agent/v1/clients").json()["clients"]]
        assert "wide" not in names


def test_default_admin_false_refuses_client_creation():
    key, _ = new_key()
    with simulator() as upstream, config_agent(upstream, key, "[default]\nadmin = false\n") as (sock, _, _):
        code, _, body = raw(sock, "POST", "/agent/v1/clients", [("Content-Type", "application/json")], b'{"name":"sneaky"}')
        assert (code, raw_code(body)) == (403, "AGENT_NOT_ALLOWED"), body


# --------------------------------------------------------------------------------------------
# 6. Token clients and the owner's controls
# --------------------------------------------------------------------------------------------

def test_token_client_cannot_lock_the_agent():
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, agent(upstream, key) as (sock, proc, _):
        token = new_client(sock, "locker", routes=["image", "wallet"])
        with client(sock) as c:
            answer = c.post("/agent/v1/lock", headers=bearer(token))
        assert (answer.status_code, error_code(answer)) == (403, "AGENT_NOT_ALLOWED"), answer.text
        assert status(sock)["locked"] is False


def test_token_client_sees_only_its_own_spend_rows():
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, agent(upstream, key) as (sock, proc, _):
        token = new_client(sock, "spender", routes=["image", "wallet"])
        with client(sock) as c:
            for _ in range(2):  # the owner's own spending, on another model
                assert c.post("/api/v1/image/generate", json={**CHEAP_IMAGE, "model": "venice-sd35"}).status_code == 200
            assert c.post("/api/v1/image/generate", json=CHEAP_IMAGE, headers=bearer(token)).status_code == 200
            mine = {by: c.get("/agent/v1/spend", params={"by": by}, headers=bearer(token)).json() for by in ("client", "model", "route", "day")}
            owner = c.get("/agent/v1/spend", params={"by": "client"}).json()
        assert {r["key"] for r in owner["rows"]} >= {"default", "spender"}, owner  # the owner sees everyone
        assert [r["key"] for r in mine["client"]["rows"]] == ["spender"], mine["client"]
        assert [r["key"] for r in mine["model"]["rows"]] == ["z-image-turbo"], mine["model"]
        for by in ("client", "model", "route", "day"):
            assert sum(r["requests"] for r in mine[by]["rows"]) == 1, (by, mine[by])


# --------------------------------------------------------------------------------------------
# 7. Executable bindings
# --------------------------------------------------------------------------------------------

PYTHON = os.path.realpath(sys.executable)

# Python connects (and waits until the agent surely accepted), then execs /bin/sh on the open socket (fd 9).
PYTHON_THEN_SH = r"""
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
time.sleep(0.7)
os.dup2(s.fileno(), 9)  # inheritable
os.execv("/bin/sh", ["sh", "-c", "printf 'GET /agent/v1/spend?by=client HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n' >&9; exec cat <&9"])
"""

# Perl connects (no shell can open a Unix socket), then execs the bound Python on the open socket.
PERL_THEN_PYTHON = r"""
use IO::Socket::UNIX; use Fcntl;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "connect: $!";
select(undef, undef, undef, 0.7);
my $flags = fcntl($s, F_GETFD, 0); fcntl($s, F_SETFD, $flags & ~FD_CLOEXEC);
exec($ARGV[1], "-c", $ARGV[2], fileno($s)) or die "exec: $!";
"""

PYTHON_ON_INHERITED_FD = r"""
import json, socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
body = json.dumps({"model": "z-image-turbo", "prompt": "a dot", "width": 64, "height": 64, "format": "png"}).encode()
s.sendall(b"POST /api/v1/image/generate HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: application/json\r\n"
          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
out = b""
while chunk := s.recv(65536):
    out += chunk
sys.stdout.write(out.split(b"\r\n", 1)[0].decode())
"""

BINDING = f'[[binding]]\nexecutable = "{PYTHON}"\nname = "pybound"\nroutes = ["image"]\n'


def spend_by_client(sock) -> dict:
    with client(sock) as c:
        return {r["key"]: r["requests"] for r in c.get("/agent/v1/spend", params={"by": "client"}).json()["rows"]}


def test_exec_on_an_inherited_connection_loses_the_executable_binding():
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, config_agent(upstream, key, BINDING) as (sock, _, _):
        # Control: the bound Python itself is confined by the binding (no admin, image only).
        code, _, body = raw(sock, "GET", "/agent/v1/audit")
        assert (code, raw_code(body)) == (403, "AGENT_NOT_ALLOWED"), body
        proc = subprocess.run([PYTHON, "-c", PYTHON_THEN_SH, str(sock)], capture_output=True, timeout=30)
        out = proc.stdout.decode(errors="replace")
        assert out.startswith("HTTP/1.1 403"), out[:500]
        assert "AGENT_PEER_CHANGED" in out, out[:500]


def test_connection_opened_by_another_program_does_not_get_the_binding_after_exec_into_it():
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, config_agent(upstream, key, BINDING) as (sock, _, _):
        proc = subprocess.run(["perl", "-e", PERL_THEN_PYTHON, str(sock), PYTHON, PYTHON_ON_INHERITED_FD],
                              capture_output=True, timeout=30)
        assert proc.stdout.startswith(b"HTTP/1.1 "), (proc.stdout, proc.stderr)
        assert "pybound" not in spend_by_client(sock), spend_by_client(sock)
        # Control: the same request from the bound Python on its own connection is the binding's.
        assert raw(sock, "POST", "/api/v1/image/generate", [("Content-Type", "application/json")], json.dumps(CHEAP_IMAGE).encode())[0] == 200
        assert spend_by_client(sock).get("pybound") == 1, spend_by_client(sock)


# --------------------------------------------------------------------------------------------
# 8. Unlock floods
# --------------------------------------------------------------------------------------------

def test_unlock_flood_is_refused_with_retry_after_and_status_stays_responsive(tmp_path):
    key, address = new_key()
    keystore = tmp_path / "slow.json"
    keystore.write_text(json.dumps(Account.encrypt(bytes.fromhex(key), "right password", kdf="scrypt", iterations=65536)))
    with simulator() as upstream, locked_agent(upstream, keystore, tmp_path) as (sock, proc):
        assert status(sock)["locked"] is True
        latencies, flooding = [], threading.Event()

        def poll_status():
            while not flooding.is_set():
                started = time.monotonic()
                status(sock)
                latencies.append(time.monotonic() - started)
                time.sleep(0.1)

        def wrong(i):
            with client(sock) as c:
                return c.post("/agent/v1/unlock", json={"password": f"wrong {i}"})

        poller = threading.Thread(target=poll_status)
        poller.start()
        try:
            answers = parallel(wrong, range(16))
        finally:
            flooding.set()
            poller.join()
        codes = sorted(a.status_code for a in answers)
        # Every answer with its body, so a failure says which refusal each request met.
        seen = [(a.status_code, a.text) for a in answers]
        assert 1 <= codes.count(401) <= 3, seen
        assert codes.count(401) + codes.count(429) == 16, seen
        retry_after = [int(a.headers["retry-after"]) for a in answers if a.status_code == 429]
        assert all(r >= 1 for r in retry_after)
        assert latencies and max(latencies) < 3.0, latencies
        time.sleep(max(retry_after))
        with client(sock) as c:
            answer = c.post("/agent/v1/unlock", json={"password": "right password"})
        assert answer.status_code == 200, answer.text
        assert status(sock)["locked"] is False and status(sock)["address"] == address


# --------------------------------------------------------------------------------------------
# 9. Lock during signing
# --------------------------------------------------------------------------------------------

def test_lock_and_unlock_while_signing_answers_only_2xx_or_423():
    key, address = new_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, proc, _):
        image_codes, toggle_codes, done = [], [], threading.Event()

        def sign_loop(_):
            with client(sock) as c:
                while not done.is_set():
                    image_codes.append(c.post("/api/v1/image/generate", json=CHEAP_IMAGE).status_code)

        def toggle_loop():
            with client(sock) as c:
                while not done.is_set():
                    toggle_codes.append(c.post("/agent/v1/lock").status_code)
                    time.sleep(0.05)
                    toggle_codes.append(c.post("/agent/v1/unlock", json={"password": PASSWORD}).status_code)
                    time.sleep(0.05)

        toggler = threading.Thread(target=toggle_loop)
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(sign_loop, i) for i in range(8)]
            toggler.start()
            time.sleep(6)
            done.set()
            for f in futures:
                f.result()
        toggler.join()
        unexpected = sorted({c for c in image_codes if not (200 <= c < 300 or c == 423)})
        assert not unexpected, (unexpected, len(image_codes))
        assert 200 in image_codes and 423 in image_codes, sorted(set(image_codes))  # the race was exercised
        assert set(toggle_codes) <= {200, 429}, sorted(set(toggle_codes))
        assert_alive(proc, sock)


# --------------------------------------------------------------------------------------------
# 10. The socket's folder, and the CLI's trust in the socket
# --------------------------------------------------------------------------------------------

def serve_args(tmp_path, socket_path):
    keystore = keystore_file(tmp_path / "k.json", new_key()[0])
    return ["--keystore", keystore, "--password-file", tmp_path / "ks-pw", "--socket", socket_path,
            "--upstream", "http://127.0.0.1:9/api/v1", "--state-dir", tmp_path / "state"]


def test_serve_refuses_a_world_writable_socket_folder(tmp_path):
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o1777)
    err = serve_must_refuse(*serve_args(tmp_path, folder / "agent.sock"))
    assert str(folder) in err, err
    assert not (folder / "agent.sock").exists()


def test_serve_refuses_a_socket_folder_owned_by_another_uid(tmp_path):
    folder = folder_owned_by_nobody()
    err = serve_must_refuse(*serve_args(tmp_path, folder / "agent.sock"))
    assert str(folder) in err, err
    assert not (folder / "agent.sock").exists()


def test_cli_never_sends_the_password_to_a_socket_served_by_another_uid(tmp_path):
    password = write(tmp_path / "pw", "hunter2-secret\n")
    with fake_agent_of_nobody() as (path, listener):
        proc = cli("unlock", "--password-file", password, sock=path, timeout=30)
        time.sleep(0.5)
        got = listener.result()
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    assert str(NOBODY) in proc.stderr, proc.stderr
    assert got["received"] == 0, got


def test_cli_refuses_a_symlinked_socket_pointing_at_another_uids_socket(tmp_path):
    password = write(tmp_path / "pw", "hunter2-secret\n")
    with fake_agent_of_nobody() as (path, listener):
        link = tmp_path / "agent.sock"
        link.symlink_to(path)
        proc = cli("unlock", "--password-file", password, sock=link, timeout=30)
        status_proc = cli("status", sock=link, timeout=30)
        time.sleep(0.5)
        got = listener.result()
    assert proc.returncode != 0 and status_proc.returncode != 0, (proc.stderr, status_proc.stderr)
    assert got["received"] == 0, got


# --------------------------------------------------------------------------------------------
# 11. Metrics
# --------------------------------------------------------------------------------------------

def test_metrics_carry_no_raw_paths_and_stay_small():
    key, _ = new_key()
    with simulator() as upstream, agent(upstream, key) as (sock, proc, _):
        raw(sock, "GET", '/agent/v1/x%22%7D,evil=%221')
        exchange(sock, b'GET /agent/v1/x"},evil="1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
        exchange(sock, b'GET /metrics?x"},evil="1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
        with client(sock) as c:
            before = c.get("/metrics").text
            for i in range(500):
                c.get(["/agent/v1/unique-%d", "/api/v1/unique-%d", "/unique-%d", "/api/v1/image/generate/unique-%d"][i % 4] % i)
            text = c.get("/metrics").text
        assert "evil" not in text
        assert "unique" not in text
        assert len(text) < 12_000, len(text)
        assert text.count("venice_agent_requests_total{") <= before.count("venice_agent_requests_total{") + 6, text
        assert_alive(proc, sock)


# --------------------------------------------------------------------------------------------
# 12. Connection flood
# --------------------------------------------------------------------------------------------

def connect_patiently(s, path, deadline):
    """A non-blocking connect(), retried while the listen backlog is full (a Unix socket says EAGAIN),
    so a stalled accept loop fails the test at `deadline` instead of hanging it."""
    s.setblocking(False)
    while True:
        try:
            s.connect(str(path))
            break
        except BlockingIOError:
            if time.time() > deadline:
                raise
            time.sleep(0.005)
    s.setblocking(True)


def test_connection_flood_leaves_the_owner_served_and_fds_bounded():
    key, _ = new_key()
    with simulator() as upstream, agent(upstream, key) as (sock, proc, _):
        held, failed, deadline = [], 0, time.time() + 40
        try:
            for i in range(2000):
                if time.time() > deadline:
                    break
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    connect_patiently(s, sock, deadline)
                    if i % 2:
                        s.send(b"GET /agent/v1/status HTTP/1.1\r\nHo")
                except OSError:
                    failed += 1
                    s.close()
                    continue
                held.append(s)
            assert len(held) >= 1500, f"only {len(held)} connections opened ({failed} failed)"
            started = time.monotonic()
            with client(sock) as c:
                answer = c.get("/agent/v1/status", timeout=10)
            assert answer.status_code == 200
            assert time.monotonic() - started < 5
            fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
            assert fds < 700, f"the agent holds {fds} file descriptors with {len(held)} client connections open"
        finally:
            for s in held:
                s.close()
        assert_alive(proc, sock)


# A whole request head, then one byte of a 100-byte body: the connection is busy until the body ends.
STALLED_BODY = b"POST /api/v1/image/generate HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
STATUS_REQUEST = b"GET /agent/v1/status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def open_connections(sock, count, first_bytes=b""):
    held, deadline = [], time.time() + 30
    for _ in range(count):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connect_patiently(s, sock, deadline)
        if first_bytes:
            s.sendall(first_bytes)
        held.append(s)
    return held


def test_stalled_request_bodies_do_not_lock_out_the_owner():
    """Like the flood above, but each connection sends a whole request head and then stalls in its
    body: such a connection is busy, never evicted, and the owner must still get in."""
    key, _ = new_key()
    with simulator() as upstream, agent(upstream, key) as (sock, proc, _):
        held = open_connections(sock, 300, STALLED_BODY)
        try:
            time.sleep(0.5)
            answer = exchange(sock, STATUS_REQUEST, timeout=5)
            assert answer.startswith(b"HTTP/1.1 200"), f"the owner's status request got {answer[:100]!r} with 300 stalled bodies open"
        finally:
            for s in held:
                s.close()
        assert_alive(proc, sock)


def fill_slots_then_leave(sock, busy, refused):
    """`busy` connections stalled in a body (every slot of this uid busy), then `refused` more that find
    no idle connection to evict; then everything is closed. Returns how many of the refused ones the
    agent had closed itself."""
    stalled = open_connections(sock, busy, STALLED_BODY)
    time.sleep(0.5)
    extra = open_connections(sock, refused)
    time.sleep(1)
    closed_by_agent = 0
    for s in extra:
        s.settimeout(0.01)
        with contextlib.suppress(socket.timeout, BlockingIOError, ConnectionResetError):
            closed_by_agent += s.recv(1) == b""
    for s in extra + stalled:
        s.close()
    return closed_by_agent


@pytest.mark.parametrize("who,slots", [("owner", 256), ("allowed-other-uid", 32)])
def test_connections_refused_at_the_cap_are_closed_and_leak_no_fds(who, slots):
    key, address = new_key()
    workdir = shared_tmp() / "agent"
    workdir.mkdir(mode=0o755)
    with simulator("--fund", f"{address}=5") as upstream, \
            config_agent(upstream, key, f"allowed_uids = [{NOBODY}]\n", workdir=str(workdir)) as (sock, proc, _):
        baseline = len(os.listdir(f"/proc/{proc.pid}/fd"))
        if who == "owner":
            closed_by_agent = fill_slots_then_leave(str(sock), slots, 300)
        else:
            closed_by_agent = as_nobody(fill_slots_then_leave, str(sock), slots, 300)
        deadline = time.time() + 5
        while len(os.listdir(f"/proc/{proc.pid}/fd")) > baseline + 20 and time.time() < deadline:
            time.sleep(0.2)
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert fds <= baseline + 20, (f"{fds} fds still open in the agent after every client left (baseline {baseline}); "
                                      f"of 300 refused connections the agent closed {closed_by_agent}")
        assert exchange(sock, STATUS_REQUEST).startswith(b"HTTP/1.1 200")


# --------------------------------------------------------------------------------------------
# 13. Shutdown with a vanished uploader
# --------------------------------------------------------------------------------------------

def test_vanished_large_upload_does_not_delay_sigterm():
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, agent(upstream, key) as (sock, proc, _):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(sock))
        s.sendall(b"POST /api/v1/audio/transcriptions HTTP/1.1\r\nHost: a\r\n"
                  b"Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 5000000\r\n\r\n"
                  b"--XYZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nnvidia/parakeet-tdt-0.6b-v3\r\n"
                  b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                  b"Content-Type: audio/wav\r\n\r\n" + b"\0" * 4096)
        time.sleep(1)
        s.close()  # the uploader vanishes
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        elapsed = time.monotonic() - started
        assert proc.poll() is not None, "the agent was still running 10 s after SIGTERM"
        assert elapsed < 10, elapsed


# --------------------------------------------------------------------------------------------
# Already-handled classes, kept handled
# --------------------------------------------------------------------------------------------

TRICK_PATHS = [
    ("POST", "/api/v1/../agent/v1/lock", b"{}"),
    ("POST", "/api/v1/../agent/v1/unlock", b'{"password":"interop"}'),
    ("POST", "//api/v1/x402/top-up", b"{}"),
    ("POST", "/api/v1//x402/top-up", b"{}"),
    ("POST", "/api/v1/x402/top-up/", b"{}"),
    ("POST", "/api/v1/./x402/top-up", b"{}"),
    ("POST", "/api/v1/image/generate/../../x402/top-up", b"{}"),
    ("POST", "/api/v1/image/generate/%2e%2e/%2e%2e/x402/top-up", b"{}"),
    ("POST", "/api/v1/%2e%2e/agent/v1/lock", b"{}"),
    ("POST", "/api/v1/%2E%2E%2Fagent%2Fv1%2Flock", b"{}"),
    ("POST", "/api/v1/x402/top%2Dup", b"{}"),
    ("POST", "/api/v1/api_keys/generate_web3_key/", b"{}"),
    ("POST", "/api/v1/image/generate%2F..%2F..%2Fx402%2Ftop-up", b"{}"),
    ("GET", "/api/v1/x402/balance/me/../../../agent/v1/audit", None),
    ("GET", "/api/v1/x402/balance/0x0000000000000000000000000000000000000001", None),
]


def test_path_tricks_reach_neither_agent_routes_nor_owned_upstream_routes():
    key, _ = new_key()
    with FakeUpstream() as venice, agent(venice.url, key) as (sock, proc, _):
        token = new_client(sock, "tricky", routes=["image"])
        for method, path, body in TRICK_PATHS:
            for headers in ([], [("Authorization", f"Bearer {token}")]):
                code, _, answer = raw(sock, method, path, [("Content-Type", "application/json"), *headers], body)
                assert 400 <= code < 500, (path, bool(headers), code, answer[:200])
        leaked = [p for p in venice.paths() if not p.startswith("/api/v1/models")]
        assert not leaked, leaked
        assert status(sock)["locked"] is False
        assert_alive(proc, sock)


SMUGGLED_LOCK = b"POST /agent/v1/lock HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize("framing", ["content-length-and-chunked", "chunked-and-content-length", "duplicate-content-length"])
def test_smuggled_request_is_never_executed(framing):
    key, _ = new_key()
    with FakeUpstream() as venice, agent(venice.url, key) as (sock, proc, _):
        token = new_client(sock, "smuggler", routes=["image"])
        head = f"POST /api/v1/image/generate HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        if framing == "content-length-and-chunked":
            data = head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            data = data.encode() + b"0\r\n\r\n" + SMUGGLED_LOCK
        elif framing == "chunked-and-content-length":
            data = head + f"Transfer-Encoding: chunked\r\nContent-Length: {5 + len(SMUGGLED_LOCK)}\r\n\r\n"
            data = data.encode() + b"0\r\n\r\n" + SMUGGLED_LOCK
        else:
            data = head + f"Content-Length: 0\r\nContent-Length: {len(SMUGGLED_LOCK)}\r\n\r\n"
            data = data.encode() + SMUGGLED_LOCK
        out = exchange(sock, data, timeout=3)
        assert out.count(b"HTTP/1.1 ") <= 1, out[:1000]
        if out:
            assert out.startswith(b"HTTP/1.1 4"), out[:300]
        assert status(sock)["locked"] is False
        assert not any(p.startswith("/api/v1/image") for p in venice.paths()), venice.paths()
        assert_alive(proc, sock)


def test_client_tokens_and_inbound_credentials_never_reach_upstream():
    key, _ = new_key()
    with FakeUpstream() as venice, agent(venice.url, key) as (sock, proc, _):
        token = new_client(sock, "leaky", routes=["image"])
        inbound = [("Authorization", f"Bearer {token}"), ("Cookie", "session=s3cret"), ("X-Payment", "forged"),
                   ("Payment-Signature", "forged"), ("Sign-In-With-X", "forged"), ("X-Sign-In-With-X", "forged"),
                   ("X-402-Payment", "forged"), ("Content-Type", "application/json")]
        code, _, body = raw(sock, "POST", "/api/v1/image/generate", inbound, json.dumps(CHEAP_IMAGE).encode())
        assert code == 200, body
        (_, _, headers), = [r for r in venice.requests if r[1].startswith("/api/v1/image/generate")]
        text = json.dumps(headers).lower()
        assert token not in text and "vat_" not in text and "s3cret" not in text and "forged" not in text, headers
        assert "sign-in-with-x" in headers  # the agent's own proof (control)


def test_upstream_redirects_are_not_followed_with_a_sign_in():
    key, address = new_key()
    with FakeUpstream() as elsewhere:
        def redirecting(method, path, headers, body):
            if path.startswith("/api/v1/image/generate"):
                return 307, {"Location": elsewhere.url + path}, "{}"
            if path.startswith("/api/v1/x402/balance/"):
                return 302, {"Location": elsewhere.url + path}, "{}"
            return None

        with FakeUpstream(redirecting) as venice, agent(venice.url, key) as (sock, proc, _):
            with client(sock) as c:
                c.post("/api/v1/image/generate", json=CHEAP_IMAGE)
                c.get("/api/v1/x402/balance/me")
                c.get("/agent/v1/balance")
                c.post("/agent/v1/topup", json={"usd": 1})
            assert any("sign-in-with-x" in h for m, p, h in venice.requests if p.startswith("/api/v1/image")), \
                "the request to the configured upstream was not signed (control)"
            signed = [(m, p) for m, p, h in elsewhere.requests if any("sign-in" in k or "payment" in k for k in h)]
            assert not signed, signed
            assert not elsewhere.requests, elsewhere.requests
            assert_alive(proc, sock)


def hostile_keystores(tmp_path: Path) -> dict:
    good = json.loads(keystore_file(tmp_path / "good.json", new_key()[0]).read_text())
    huge_n = json.loads(json.dumps(good))
    huge_n["crypto"]["kdfparams"]["n"] = 2 ** 40
    no_address = {k: v for k, v in good.items() if k != "address"}
    return {"not-json": "this is {not json", "scrypt-n-2^40": json.dumps(huge_n), "no-address": json.dumps(no_address)}


@pytest.mark.parametrize("kind", ["not-json", "scrypt-n-2^40", "no-address"])
def test_hostile_keystore_fails_start_with_a_clear_error(tmp_path, kind):
    keystore = write(tmp_path / f"{kind}.json", hostile_keystores(tmp_path)[kind])
    err = serve_must_refuse("--keystore", keystore, "--password-file", tmp_path / "ks-pw", "--socket", tmp_path / "s" / "a.sock",
                            "--upstream", "http://127.0.0.1:9/api/v1", "--state-dir", tmp_path / "state")
    assert_no_crash_text(err)
    errors = [line for line in err.splitlines() if line.startswith("venice-agent: error: ")]
    assert len(errors) == 1, err[-2000:]
    assert any(word in errors[0].lower() for word in ("keystore", "scrypt", "json", "address")), errors[0]


@pytest.mark.parametrize("listen", ["0.0.0.0:8439", "192.168.0.10:8439", "[::]:8439", "example.com:80", "127.0.0.1"])
def test_a_listen_address_off_loopback_is_refused_at_start(tmp_path, listen):
    key, _ = new_key()
    keystore = keystore_file(tmp_path / "k.json", key)
    err = serve_must_refuse("--keystore", keystore, "--password-file", tmp_path / "ks-pw", "--socket", tmp_path / "s" / "a.sock",
                            "--upstream", "http://127.0.0.1:9/api/v1", "--state-dir", tmp_path / "state", "--listen", listen)
    assert_no_crash_text(err)
    assert listen in err and ("loopback" in err or "127.0.0.1" in err or "port" in err), err[-2000:]
