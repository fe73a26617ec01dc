"""Crash safety of top-ups (issue 6): SIGKILL the agent around settlement, restart it, and
check the wallet was credited exactly once."""
import secrets
import tempfile
import time

import httpx
import pytest
from eth_account import Account

from agent_processes import agent, client, simulator


def wait_for_balance(sock, expected, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        with client(sock) as c:
            answer = c.get("/agent/v1/balance")
            if answer.status_code == 200:
                last = answer.json()["balance_usd"]
                if abs(last - expected) < 1e-9:
                    return last
        time.sleep(0.3)
    return last


@pytest.mark.parametrize("crash_at", ["after-intent", "after-settlement"])
def test_sigkill_around_settlement_credits_exactly_once(crash_at):
    key = secrets.token_bytes(32).hex()
    workdir = tempfile.mkdtemp(prefix="va-", dir="/tmp")
    with simulator() as upstream:
        with agent(upstream, key, workdir=workdir, env={"VENICE_AGENT_TEST_CRASH_AT": crash_at}) as (sock, proc, _):
            with client(sock) as c, pytest.raises(httpx.HTTPError):
                c.post("/agent/v1/topup", json={"usd": 10})
            assert proc.wait(timeout=10) == -9  # SIGKILL, as planned by the seam
        with agent(upstream, key, workdir=workdir) as (sock, proc, _):
            # The restarted agent resolves the journaled intent before anything else.
            assert wait_for_balance(sock, 10) == 10
            with client(sock) as c:
                answer = c.post("/agent/v1/topup", json={"usd": 5})
                assert answer.status_code == 200, answer.text
            assert wait_for_balance(sock, 15) == 15
            with client(sock) as c:
                rows = c.get("/api/v1/x402/transactions/me").json()["data"]["transactions"]
            top_ups = sorted(r["amount"] for r in rows if r["type"] == "TOP_UP")
            assert top_ups == [5, 10]
