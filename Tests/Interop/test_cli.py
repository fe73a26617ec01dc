"""The client commands of `venice-agent` as a user runs them: real CLI, real agent, venice-sim as Venice.

Tests of issue-6 endpoints (topup, spend, apikey, clients) skip with a reason while the agent answers
404 AGENT_UNKNOWN_ROUTE for them, and check the real behaviour once it does not.
"""
import json
import socket
from pathlib import Path

import pytest

from agent_processes import agent, simulator
from cli_support import cli, new_key, ok, one_error_line, png_size, wav_seconds


@pytest.fixture(scope="module")
def funded():
    """One simulator with a $20 wallet and an unlocked agent in front of it: (socket, address, upstream)."""
    key, address = new_key()
    with simulator("--fund", f"{address}=20", "--audio-processing-ms", "2500") as upstream, \
            agent(upstream, key) as (sock, _, _):
        yield sock, address, upstream


@pytest.fixture()
def fresh():
    """An unfunded wallet's agent of its own (safe to lock): (socket, password file, address, upstream)."""
    key, address = new_key()
    with simulator() as upstream, agent(upstream, key) as (sock, _, _):
        yield sock, sock.parent.parent / "pw", address, upstream


# --- finding the agent, and the errors when it is not there ---

def test_status_shows_address_and_unlocked(funded):
    sock, address, upstream = funded
    out = ok(cli("status", sock=sock))
    assert address in out and "unlocked" in out and upstream in out


def test_status_json_is_the_agents_answer(funded):
    sock, address, _ = funded
    status = json.loads(ok(cli("status", "--json", sock=sock)))
    assert status["address"] == address and status["locked"] is False


def test_the_socket_comes_from_VENICE_AGENT_SOCK(funded):
    sock, address, _ = funded
    assert address in ok(cli("status", env={"VENICE_AGENT_SOCK": str(sock)}))


def test_the_socket_falls_back_to_XDG_RUNTIME_DIR(tmp_path):
    line = one_error_line(cli("status", env={"XDG_RUNTIME_DIR": str(tmp_path)}))
    assert f"{tmp_path}/venice-agent/agent.sock" in line


def test_no_agent_running_says_how_to_start_one(tmp_path):
    line = one_error_line(cli("status", sock=tmp_path / "missing.sock"))
    assert "no agent is listening at" in line and "venice-agent serve --keystore" in line


def test_a_stale_socket_is_reported_as_not_running(tmp_path):
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # the file stays, nobody listens
    line = one_error_line(cli("balance", sock=path))
    assert "no agent is listening" in line and "venice-agent serve" in line


def test_a_path_that_is_not_a_socket_is_named(tmp_path):
    path = tmp_path / "plain-file"
    path.write_text("x")
    line = one_error_line(cli("status", sock=path))
    assert f"{path} is not a Unix socket" in line


# --- lock / unlock ---

def test_lock_then_a_request_says_to_unlock_then_unlock_with_a_password_file(fresh):
    sock, pw, address, _ = fresh
    assert "locked" in ok(cli("lock", sock=sock))
    assert json.loads(ok(cli("status", "--json", sock=sock)))["locked"] is True
    line = one_error_line(cli("image", "generate", "a red fox", "--size", "256x256", "--out", sock.parent, sock=sock))
    assert "venice-agent unlock" in line and "AGENT_LOCKED" in line
    line = one_error_line(cli("balance", sock=sock))
    assert "venice-agent unlock" in line
    assert address in ok(cli("unlock", "--password-file", pw, sock=sock))
    assert json.loads(ok(cli("status", "--json", sock=sock)))["locked"] is False


def test_unlock_with_a_wrong_password_is_one_line(fresh, tmp_path):
    sock, _, _, _ = fresh
    ok(cli("lock", sock=sock))
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    line = one_error_line(cli("unlock", "--password-file", wrong, sock=sock))
    assert "AGENT_WRONG_PASSWORD" in line and "not-the-password" not in line


def test_unlock_without_a_terminal_asks_for_a_password_file(fresh):
    sock, _, _, _ = fresh
    # setsid: no controlling terminal, as under cron or CI.
    import subprocess
    from conftest import binary
    proc = subprocess.run(["setsid", str(binary("venice-agent")), "unlock", "--socket", str(sock)],
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert b"--password-file" in proc.stderr


# --- wallet ---

def test_balance_shows_the_wallets_credit(funded):
    sock, address, _ = funded
    out = ok(cli("balance", sock=sock))
    assert address.lower() in out and "$" in out
    data = json.loads(ok(cli("balance", "--json", sock=sock)))["data"]
    assert data["walletAddress"] == address.lower() and data["balanceUsd"] > 0


def test_transactions_list_the_top_up_and_charges(funded):
    sock, _, _ = funded
    ok(cli("image", "generate", "a teapot", "--size", "256x256", "--out", sock.parent, sock=sock))
    out = ok(cli("transactions", sock=sock))
    assert "TOP_UP" in out and "CHARGE" in out and "z-image-turbo" in out
    page = json.loads(ok(cli("transactions", "--json", "--limit", "1", sock=sock)))["data"]
    assert len(page["transactions"]) == 1 and page["pagination"]["hasMore"] is True


def test_an_unfunded_wallet_is_told_to_top_up(fresh):
    sock, _, _, _ = fresh
    line = one_error_line(cli("speech", "hello there", "--out", sock.parent / "x.wav", sock=sock))
    assert "Venice answered 402" in line and "venice-agent topup" in line


# --- images ---

def test_image_generate_writes_pngs_of_the_requested_size(funded, tmp_path):
    sock, _, _ = funded
    out = ok(cli("image", "generate", "a lighthouse at dusk", "--size", "320x192", "--variants", "2", "--seed", "5",
                 "--out", tmp_path / "imgs", sock=sock))
    paths = [Path(p) for p in out.split()]
    assert len(paths) == 2
    for p in paths:
        assert p.parent == tmp_path / "imgs" and p.suffix == ".png"
        assert png_size(p.read_bytes()) == (320, 192)


def test_image_generate_json_lists_the_files(funded, tmp_path):
    sock, _, _ = funded
    out = json.loads(ok(cli("image", "generate", "a fox", "--size", "64x64", "--json", "--out", tmp_path, sock=sock)))
    assert out["id"] and len(out["files"]) == 1 and Path(out["files"][0]).exists()


def test_image_generate_passes_venices_refusal_as_one_line(funded, tmp_path):
    sock, _, _ = funded
    line = one_error_line(cli("image", "generate", "a fox", "--style", "No Such Style", "--out", tmp_path, sock=sock))
    assert "Venice answered 400" in line


def test_image_generate_rejects_a_bad_size_before_calling(tmp_path):
    proc = cli("image", "generate", "a fox", "--size", "big", sock=tmp_path / "none.sock")
    assert proc.returncode != 0 and "--size takes WIDTHxHEIGHT" in proc.stderr


def test_image_styles_lists_presets(funded):
    sock, _, _ = funded
    styles = ok(cli("image", "styles", sock=sock)).splitlines()
    assert len(styles) > 5 and "Anime" in styles


# --- audio ---

def test_speech_writes_a_wav(funded, tmp_path):
    sock, _, _ = funded
    target = tmp_path / "hello.wav"
    out = ok(cli("speech", "Hello from the command line.", "--out", target, sock=sock))
    assert out.strip() == str(target)
    assert wav_seconds(target.read_bytes()) > 0.2


def test_speech_without_a_format_asks_for_none_and_names_the_file_after_what_venice_sent(funded, tmp_path):
    # Several speech models speak mp3 only: the CLI leaves response_format to the model unless asked.
    sock, _, _ = funded
    out = ok(cli("speech", "Hello from the command line.", sock=sock, cwd=tmp_path)).strip()
    assert out == "speech.mp3"
    audio = (tmp_path / "speech.mp3").read_bytes()
    assert audio[:3] == b"ID3" or (audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0), audio[:8]


def test_speech_with_an_unknown_voice_is_one_line(funded, tmp_path):
    sock, _, _ = funded
    line = one_error_line(cli("speech", "Hello.", "--voice", "nobody", "--out", tmp_path / "x.wav", sock=sock))
    assert "Venice answered 400" in line
    assert not (tmp_path / "x.wav").exists()


def test_transcribe_uploads_a_file_and_prints_text(funded, tmp_path):
    sock, _, _ = funded
    wav = tmp_path / "speech.wav"
    ok(cli("speech", "The quick brown fox jumps over the lazy dog.", "--out", wav, sock=sock))
    text = ok(cli("transcribe", wav, sock=sock)).strip()
    assert text
    assert ok(cli("transcribe", wav, "--format", "text", sock=sock)).strip()
    answer = json.loads(ok(cli("transcribe", wav, "--timestamps", "--json", sock=sock)))
    assert answer["text"] and "timestamps" in answer


def test_transcribe_a_missing_file_is_one_line(funded, tmp_path):
    sock, _, _ = funded
    line = one_error_line(cli("transcribe", tmp_path / "nope.wav", sock=sock))
    assert "cannot read" in line


def test_music_shows_the_quote_follows_the_job_and_saves_audio(funded, tmp_path):
    sock, _, _ = funded
    target = tmp_path / "song.wav"
    proc = cli("music", "calm ambient piano with rain", "--duration", "60", "--yes", "--out", target, sock=sock, timeout=180)
    out = ok(proc)
    assert out.splitlines()[0].startswith("quote: $0.03")
    assert out.splitlines()[-1] == str(target)
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    assert 0 < wav_seconds(target.read_bytes()) <= 60  # venice-sim renders at most 10 s


def test_music_without_yes_and_without_a_terminal_refuses_before_queueing(funded, tmp_path):
    sock, _, _ = funded
    before = json.loads(ok(cli("transactions", "--json", sock=sock)))["data"]["currentBalance"]
    line = one_error_line(cli("music", "calm ambient piano with rain", "--duration", "60", "--out", tmp_path / "m.wav", sock=sock))
    assert "--yes" in line
    assert json.loads(ok(cli("transactions", "--json", sock=sock)))["data"]["currentBalance"] == before


def test_music_that_outlives_its_timeout_is_followed_again_by_queue_id_without_a_second_charge(tmp_path):
    key, address = new_key()
    # Jobs take 8 s here, so a 1 s --timeout runs out long before the job is done.
    with simulator("--fund", f"{address}=20", "--audio-processing-ms", "8000") as upstream, \
            agent(upstream, key) as (sock, _, _):
        target = tmp_path / "late.wav"
        line = one_error_line(cli("music", "calm ambient piano with rain", "--duration", "60", "--yes", "--timeout", "1",
                                  "--out", target, sock=sock, timeout=60))
        assert "still processing" in line and "--queue-id" in line and not target.exists()
        queue_id = line.split("--queue-id ")[1].split()[0]
        before = json.loads(ok(cli("transactions", "--json", sock=sock)))["data"]["currentBalance"]
        out = ok(cli("music", "--queue-id", queue_id, "--model", "ace-step-15", "--out", target, sock=sock, timeout=60))
        assert out.splitlines()[-1] == str(target)
        assert wav_seconds(target.read_bytes()) > 0
        assert json.loads(ok(cli("transactions", "--json", sock=sock)))["data"]["currentBalance"] == before


def test_music_needs_a_prompt_or_a_queue_id_but_not_both(funded):
    sock, _, _ = funded
    neither = cli("music", sock=sock)
    assert neither.returncode != 0 and "--queue-id" in neither.stderr
    both = cli("music", "calm ambient piano", "--queue-id", "abc", sock=sock)
    assert both.returncode != 0 and "not both" in both.stderr


# --- billing (needs a minted ADMIN key) ---

def test_billing_without_a_minted_key_says_how_to_mint_one(funded):
    sock, _, _ = funded
    line = one_error_line(cli("billing", "balance", sock=sock))
    assert "AGENT_NO_API_KEY" in line and "venice-agent apikey mint" in line


# --- issue-6 endpoints: skipped while the agent answers AGENT_UNKNOWN_ROUTE ---

def test_topup_adds_credit(fresh):
    sock, _, _, _ = fresh
    proc = cli("topup", "10", sock=sock)
    assert "credited $10.00" in ok(proc)
    assert json.loads(ok(cli("balance", "--json", sock=sock)))["data"]["balanceUsd"] == pytest.approx(10)


def test_topup_rejects_a_non_positive_amount(tmp_path):
    proc = cli("topup", "0", sock=tmp_path / "none.sock")
    assert proc.returncode != 0 and "positive" in proc.stderr


def spend_and_venice_charges(sock):
    """(spend --by model --json, Venice's charges per model) once the agent has reconciled."""
    import time
    time.sleep(2)  # the agent reconciles charges from Venice's ledger shortly after each request
    ledger = json.loads(ok(cli("transactions", "--json", "--limit", "100", sock=sock)))["data"]["transactions"]
    by_model = {}
    for t in ledger:
        if t["type"] in ("CHARGE", "REFUND"):
            by_model[t["modelId"]] = by_model.get(t["modelId"], 0) - t["amount"]
    deadline = time.monotonic() + 10
    while True:  # /agent/v1/spend is local: poll it, not Venice (whose ledger route is rate-limited)
        spend = json.loads(ok(cli("spend", "--by", "model", "--json", sock=sock)))
        if spend["total_charged_usd"] == pytest.approx(sum(by_model.values()), abs=1e-6) or time.monotonic() > deadline:
            return spend, by_model
        time.sleep(0.5)


def test_spend_table_sums_to_the_simulators_charges(tmp_path):
    key, address = new_key()
    with simulator("--fund", f"{address}=5", "--audio-processing-ms", "500") as upstream, agent(upstream, key) as (sock, _, _):
        ok(cli("image", "generate", "a kite", "--size", "64x64", "--variants", "2", "--out", tmp_path, sock=sock))
        ok(cli("speech", "Hello there.", "--out", tmp_path / "s.wav", sock=sock))
        ok(cli("music", "calm ambient piano with rain", "--duration", "60", "--yes", "--out", tmp_path / "m.wav", sock=sock))
        spend, by_model = spend_and_venice_charges(sock)
        rows = {r["key"]: r["charged_usd"] for r in spend["rows"]}
        assert spend["total_charged_usd"] == pytest.approx(sum(by_model.values()), abs=1e-6), (rows, by_model)
        for model, charged in by_model.items():
            assert rows.get(model) == pytest.approx(charged, abs=1e-6), (model, rows, by_model)
        table = ok(cli("spend", "--by", "model", sock=sock))
        assert "z-image-turbo" in table and table.splitlines()[-1].startswith("total")


def test_spend_chart_draws_30_days_stacked_by_client_fitting_the_width_with_todays_total(tmp_path):
    import datetime
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, agent(upstream, key) as (sock, _, _):
        token = json.loads(ok(cli("clients", "add", "painter", "--routes", "image", "--json", sock=sock)))["token"]
        ok(cli("image", "generate", "a kite", "--size", "64x64", "--variants", "3", "--out", tmp_path, sock=sock))
        ok(cli("image", "generate", "a boat", "--size", "64x64", "--out", tmp_path, sock=sock, env={"VENICE_AGENT_TOKEN": token}))
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        by_day = {r["key"]: r["charged_usd"] for r in json.loads(ok(cli("spend", "--by", "day", "--json", sock=sock)))["rows"]}
        for width in (60, 120):
            chart = ok(cli("spend", "--chart", sock=sock, env={"COLUMNS": str(width)})).splitlines()
            days = [line for line in chart if line[:4].isdigit()]
            assert len(days) == 30 and days[-1].startswith(today), chart
            assert all(len(line) <= width for line in chart[1:]), chart
            assert all("\x1b" not in line for line in chart)  # not a terminal: plain ASCII
            # Today's bar: the default client's share drawn with '#', painter's with '=', 3:1.
            bar = days[-1].split("|", 1)[1]
            assert bar.count("#") == pytest.approx(3 * bar.count("="), abs=2) and bar.count("=") >= 1, days[-1]
            assert days[-1].rstrip().endswith("$" + format(by_day[today], ".2f")), (days[-1], by_day)
            assert all(line.rstrip().endswith("$0.00") for line in days[:-1])
            assert "# default" in chart[-1] and "= painter" in chart[-1], chart[-1]
        by_model = ok(cli("spend", "--chart", "--by", "model", sock=sock, env={"COLUMNS": "80"}))
        assert "z-image-turbo" in by_model.splitlines()[-1]
        refused = cli("spend", "--chart", "--by", "route", sock=sock)
        assert refused.returncode != 0 and "client or model" in refused.stderr


def test_spend_includes_transcription_charges(tmp_path):
    key, address = new_key()
    with simulator("--fund", f"{address}=5") as upstream, agent(upstream, key) as (sock, _, _):
        ok(cli("speech", "The quick brown fox jumps over the lazy dog.", "--out", tmp_path / "s.wav", sock=sock))
        ok(cli("transcribe", tmp_path / "s.wav", sock=sock))
        spend, by_model = spend_and_venice_charges(sock)
        rows = {r["key"]: r["charged_usd"] for r in spend["rows"]}
        assert rows.get("nvidia/parakeet-tdt-0.6b-v3") == pytest.approx(by_model["nvidia/parakeet-tdt-0.6b-v3"], abs=1e-6), (rows, by_model)


def test_apikey_list_mint_revoke():
    key, address = new_key()
    with simulator("--fund", f"{address}=5", "--staked-wallet", address) as upstream, agent(upstream, key) as (sock, _, _):
        proc = cli("apikey", "list", "--json", sock=sock)
        assert json.loads(ok(proc))["keys"] == []
        minted = json.loads(ok(cli("apikey", "mint", "--type", "ADMIN", "--description", "cli test", "--json", sock=sock)))
        assert minted["type"] == "ADMIN" and len(minted["last6"]) == 6
        assert minted["id"] in ok(cli("apikey", "list", sock=sock))
        assert "can consume" in ok(cli("billing", "balance", sock=sock))
        assert ok(cli("apikey", "revoke", minted["id"], sock=sock)).strip() == f"revoked {minted['id']}"
        assert json.loads(ok(cli("apikey", "list", "--json", sock=sock)))["keys"] == []


def test_clients_add_list_remove_and_the_budget_line(funded, tmp_path):
    sock, _, _ = funded
    proc = cli("clients", "add", "painter", "--routes", "image", "--daily-usd", "0.015", "--json", sock=sock)
    token = json.loads(ok(proc))["token"]
    assert token.startswith("vat_")
    assert "painter" in ok(cli("clients", "list", sock=sock))
    env = {"VENICE_AGENT_TOKEN": token}
    ok(cli("image", "generate", "one", "--size", "64x64", "--out", tmp_path, sock=sock, env=env))
    line = one_error_line(cli("image", "generate", "two", "--size", "64x64", "--out", tmp_path, sock=sock, env=env))
    assert "AGENT_BUDGET_EXCEEDED" in line and "daily_usd" in line
    assert "removed painter" in ok(cli("clients", "remove", "painter", sock=sock))


def test_topup_over_the_cap_is_refused_with_its_reason(fresh):
    sock, _, _, _ = fresh
    proc = cli("topup", "25", sock=sock)
    line = one_error_line(proc)
    assert "top-up refused [over_cap]" in line and "AGENT_PAYMENT_REFUSED" in line
    assert json.loads(ok(cli("balance", "--json", sock=sock)))["data"]["balanceUsd"] == 0


def test_audit_lists_the_top_ups_payment_events(fresh):
    sock, _, _, _ = fresh
    proc = cli("topup", "5", sock=sock)
    ok(proc)
    proc = cli("audit", "--json", sock=sock)
    kinds = [e["kind"] for e in json.loads(ok(proc))["events"]]
    table = ok(cli("audit", sock=sock))
    assert table.splitlines()[0].split() == ["time", "event", "detail"]
    assert len(table.splitlines()) == len(kinds) + 1
    assert "payment_signed" in kinds and "payment_settled" in kinds, kinds


# --- every client command, the same error lines ---

def every_command(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    return [
        ["status"], ["lock"], ["unlock", "--password-file", pw], ["topup", "5"], ["balance"], ["transactions"],
        ["spend"], ["audit"], ["image", "generate", "a fox", "--out", tmp_path], ["image", "styles"],
        ["speech", "hello", "--out", tmp_path / "s.wav"], ["transcribe", audio], ["music", "calm piano music", "--yes"],
        ["billing", "balance"], ["billing", "usage"], ["billing", "analytics"],
        ["apikey", "list"], ["apikey", "mint"], ["apikey", "revoke", "k1"],
        ["clients", "list"], ["clients", "add", "bot"], ["clients", "remove", "bot"],
    ]


def test_every_command_says_how_to_start_a_missing_agent(tmp_path):
    for args in every_command(tmp_path):
        line = one_error_line(cli(*args, sock=tmp_path / "nowhere.sock"))
        assert "no agent is listening at" in line and "venice-agent serve" in line, (args, line)


def test_every_command_names_a_path_that_is_not_a_socket(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("")
    for args in every_command(tmp_path):
        line = one_error_line(cli(*args, sock=plain))
        assert "is not a Unix socket" in line, (args, line)


def test_every_signed_command_on_a_locked_agent_says_unlock(fresh, tmp_path):
    sock, _, _, _ = fresh
    wav = tmp_path / "in.wav"
    ok(cli("lock", sock=sock))
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
    for args in (["balance"], ["transactions"], ["topup", "5"], ["image", "generate", "a fox", "--out", tmp_path],
                 ["speech", "hello", "--out", tmp_path / "s.wav"], ["transcribe", wav],
                 ["music", "calm piano music", "--duration", "60", "--yes", "--out", tmp_path / "m.wav"]):
        line = one_error_line(cli(*args, sock=sock))
        assert "venice-agent unlock" in line, (args, line)


def test_unlock_sends_a_password_with_quotes_backslashes_and_unicode_intact(tmp_path):
    import tempfile
    from conftest import binary, run
    key, _ = new_key()
    d = Path(tempfile.mkdtemp(prefix="va-", dir="/tmp"))
    password = 'pa"ss\\wörd\ttab'
    (d / "pw").write_text(password + "\n")
    run([binary("venice-agent"), "key", "import", "--keystore", d / "key.json", "--password-file", d / "pw", "--scrypt-n", 1024],
        stdin=key.encode())
    with simulator() as upstream, agent(upstream, key, workdir=str(d)) as (sock, _, address):
        ok(cli("lock", sock=sock))
        assert address in ok(cli("unlock", "--password-file", d / "pw", sock=sock))
        assert json.loads(ok(cli("status", "--json", sock=sock)))["locked"] is False


# --- doctor ---

OFFLINE_RULES = ["local.socket-folder", "local.socket", "local.config", "local.keystore", "local.state-dir", "clock.skew"]


def doctor(*args, sock, tmp_path, env=None):
    """`venice-agent doctor ARGS` with no config file of the user's in the way: (exit status, {rule: [(verdict, detail)]})."""
    proc = cli("doctor", *args, sock=sock, env={"XDG_CONFIG_HOME": str(tmp_path / "no-config"), **(env or {})}, timeout=300)
    rules = {}
    for line in proc.stdout.splitlines():
        verdict, rest = line.split(" ", 1)
        rule, _, detail = rest.partition("  ")
        assert verdict in ("PASS", "FAIL", "SKIP"), line
        rules.setdefault(rule, []).append((verdict, detail))
    return proc, rules


def test_doctor_offline_passes_every_local_rule(funded, tmp_path):
    sock, address, _ = funded
    proc, rules = doctor(sock=sock, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(rules) == OFFLINE_RULES, proc.stdout
    assert all(v == "PASS" for results in rules.values() for v, _ in results), proc.stdout
    assert address in rules["local.keystore"][0][1]


def test_doctor_live_passes_through_the_agent(funded, tmp_path):
    sock, _, _ = funded
    proc, rules = doctor("--live", sock=sock, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rule in ["venice.models", "siwx.sign-in-accepted", "venice.cf-ray"]:
        assert rules[rule] == [("PASS", rules[rule][0][1])], proc.stdout
    # Offline and signed clock checks both pass; the balance answer carries no rate-limit headers
    # (Venice documents them on inference answers), so that rule waits for --spend-usd.
    assert [v for v, _ in rules["clock.skew"]] == ["PASS", "PASS"], proc.stdout
    assert rules["venice.rate-limit-headers"][0][0] in ("PASS", "SKIP"), proc.stdout


def test_doctor_spend_reconciles_both_charges_and_sees_rate_limit_headers(funded, tmp_path):
    sock, _, _ = funded
    proc, rules = doctor("--live", "--spend-usd", "0.05", sock=sock, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rule in ["charge.image-reconciled", "charge.speech-reconciled", "venice.rate-limit-headers", "venice.cf-ray"]:
        assert rules[rule][0][0] == "PASS", proc.stdout
    assert "reconciled" in rules["charge.image-reconciled"][0][1]


def test_doctor_refuses_to_spend_more_than_a_dollar_or_without_live(funded, tmp_path):
    sock, _, _ = funded
    proc = cli("doctor", "--live", "--spend-usd", "1.5", sock=sock)
    assert proc.returncode != 0 and proc.stdout == "" and "at most 1.00" in proc.stderr
    proc = cli("doctor", "--spend-usd", "0.5", sock=sock)
    assert proc.returncode != 0 and proc.stdout == "" and "needs --live" in proc.stderr


def test_doctor_refuses_a_spend_below_the_cheapest_estimate_before_spending(funded, tmp_path):
    sock, _, _ = funded
    before = json.loads(ok(cli("spend", "--json", sock=sock)))["total_estimate_usd"]
    proc, rules = doctor("--live", "--spend-usd", "0.001", sock=sock, tmp_path=tmp_path)
    assert proc.returncode == 1
    assert rules["charge.image-reconciled"][0][0] == "FAIL" and "nothing was spent" in rules["charge.image-reconciled"][0][1]
    assert json.loads(ok(cli("spend", "--json", sock=sock)))["total_estimate_usd"] == before


def test_doctor_fails_clock_skew_against_a_simulator_two_minutes_ahead(tmp_path):
    key, address = new_key()
    with simulator("--fund", f"{address}=1", "--clock-offset-s", "120") as upstream, agent(upstream, key) as (sock, _, _):
        proc, rules = doctor(sock=sock, tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stdout
    verdict, detail = rules["clock.skew"][0]
    assert verdict == "FAIL" and "+1" in detail and "sync" in detail, detail
    assert all(v == "PASS" for rule, results in rules.items() if rule != "clock.skew" for v, _ in results), proc.stdout


def test_doctor_fails_a_keystore_others_can_read(fresh, tmp_path):
    sock, _, _, _ = fresh
    keystore = sock.parent.parent / "key.json"
    keystore.chmod(0o644)
    proc, rules = doctor(sock=sock, tmp_path=tmp_path)
    assert proc.returncode == 1
    verdict, detail = rules["local.keystore"][0]
    assert verdict == "FAIL" and f"chmod 600 {keystore}" in detail


def test_doctor_transcript_is_private_and_holds_no_secret(funded, tmp_path):
    import re
    import stat
    sock, _, _ = funded
    token = json.loads(ok(cli("clients", "add", "doctor-t", "--routes", "image,wallet", "--json", sock=sock)))["token"]
    path = tmp_path / "doctor.jsonl"
    proc, rules = doctor("--live", "--token", token, "--transcript", path, sock=sock, tmp_path=tmp_path)
    assert rules["siwx.sign-in-accepted"][0][0] == "PASS", proc.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    exchanges = [json.loads(line) for line in text.splitlines()]
    assert any(e["target"] == "agent:/api/v1/x402/balance/me" and e["status"] == 200 for e in exchanges)
    assert token not in text and "vat_" not in text
    assert re.search(r"0x[0-9a-fA-F]{130}", text) is None
    assert "wants you to sign in" not in text
    for e in exchanges:
        for name, value in e["request_headers"] + e["response_headers"]:
            if name.lower() in ("authorization", "sign-in-with-x", "x-sign-in-with-x", "payment-signature", "x-payment"):
                assert value == "[redacted]", (name, value)
