"""SIWE / SIWX interop: our renderer and parser against siwe 4.4.0 (ABNF), eth-account and x402.

Runs `interop-tool` (Sources/interop-tool) via VENICE_BIN_DIR (default .build/debug).
"""
import asyncio
import base64
import json
import random
import string
from datetime import datetime, timezone

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from siwe import SiweMessage

from conftest import binary, run

ANVIL0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL0_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
STATEMENT_CHARS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=" + " "
PCHAR = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
FIELDS = ["scheme", "domain", "address", "statement", "uri", "version", "chain_id", "nonce",
          "issued_at", "expiration_time", "not_before", "request_id", "resources"]
OUR_NAMES = {"chain_id": "chainId", "issued_at": "issuedAt", "expiration_time": "expirationTime",
             "not_before": "notBefore", "request_id": "requestId"}


@pytest.fixture(scope="module")
def tool():
    return binary("interop-tool")


def call(tool, command, payload):
    out = run([tool, command], stdin=json.dumps(payload).encode())
    return json.loads(out.stdout)


def iso(ms: int, rng: random.Random) -> str:
    """A timestamp in one of the RFC 3339 shapes siwe and we both accept."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    shape = rng.randrange(4)
    if shape == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    if shape == 1:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if shape == 2:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    off = rng.choice([60, -300, 330, 120])
    local = datetime.fromtimestamp(ms / 1000 + off * 60, tz=timezone.utc)
    sign = "+" if off >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}"


def random_fields(rng: random.Random) -> dict:
    base = rng.randrange(1_600_000_000_000, 2_000_000_000_000)
    domain = rng.choice(["example.com", "api.venice.ai", "localhost:8080", "sub.domain.example.org",
                         "127.0.0.1:3000", "user@example.net", "a-b.c_d~e.io:65535"])
    f = {
        "domain": domain,
        "uri": rng.choice(["https://example.com/login", "http://localhost:8080/", "https://api.venice.ai",
                           "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
                           "https://api.venice.ai/api/v1/chat/completions?x=1&y=%20#frag", "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/"]),
        "chainId": rng.choice([1, 8453, 84532, 10, 137, 42161, rng.randrange(1, 2**53)]),
        "nonce": "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(rng.randrange(8, 40))),
        "issuedAt": iso(base, rng),
    }
    if rng.random() < 0.3:
        f["scheme"] = rng.choice(["https", "http", "my-app+x.1"])
    if rng.random() < 0.8:
        n = rng.choice([1, 5, 40, 200, 1000])
        s = "".join(rng.choice(STATEMENT_CHARS) for _ in range(n))
        f["statement"] = s if s.strip() else "x" + s  # siwe renders an all-space statement like any other
    nbf = base + rng.randrange(0, 3_600_000)
    if rng.random() < 0.5:
        f["notBefore"] = iso(nbf, rng)
    if rng.random() < 0.6:
        f["expirationTime"] = iso(nbf + rng.randrange(1000, 3_600_000), rng)
    if rng.random() < 0.4:
        f["requestId"] = "".join(rng.choice(PCHAR) for _ in range(rng.randrange(0, 30)))
    if rng.random() < 0.5:
        f["resources"] = [rng.choice(["https://example.com/terms", "ipfs://Qm1234/abc", "urn:x:y",
                                      "https://a.b/c?d=e#f"]) for _ in range(rng.randrange(1, 5))]
    return f


def to_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def siwe_fields(m: SiweMessage) -> dict:
    return {k: getattr(m, k) for k in FIELDS}


def expected_siwe_fields(f: dict, address: str) -> dict:
    return {
        "scheme": f.get("scheme"), "domain": f["domain"], "address": address, "statement": f.get("statement"),
        "uri": f["uri"], "version": "1", "chain_id": f["chainId"], "nonce": f["nonce"], "issued_at": f["issuedAt"],
        "expiration_time": f.get("expirationTime"), "not_before": f.get("notBefore"),
        "request_id": f.get("requestId"), "resources": f.get("resources"),
    }


def test_siwe_parses_and_verifies_500_messages_we_render(tool):
    rng = random.Random(4361)
    fields = [random_fields(rng) for _ in range(500)]
    rendered = call(tool, "siwe-render", {"key": ANVIL0, "messages": fields})
    assert len(rendered) == 500
    for f, r in zip(fields, rendered):
        assert "error" not in r, (f, r)
        parsed = SiweMessage.from_message(r["message"])          # ABNF parser
        assert siwe_fields(parsed) == expected_siwe_fields(f, ANVIL0_ADDRESS), r["message"]
        assert parsed.prepare_message() == r["message"]
        when = to_datetime(f.get("notBefore", f["issuedAt"]))
        parsed.verify(r["signature"], timestamp=when)               # raises on a bad signature/time
        assert Account.recover_message(encode_defunct(text=r["message"]), signature=r["signature"]) == ANVIL0_ADDRESS


def test_messages_siwe_renders_parse_with_ours_to_equal_fields(tool):
    rng = random.Random(55)
    messages, expected = [], []
    for i in range(300):
        f = random_fields(rng)
        address = Account.create(f"seed {i}").address
        m = SiweMessage(
            scheme=f.get("scheme"), domain=f["domain"], address=address, statement=f.get("statement"), uri=f["uri"],
            version="1", chain_id=f["chainId"], nonce=f["nonce"], issued_at=f["issuedAt"],
            expiration_time=f.get("expirationTime"), not_before=f.get("notBefore"), request_id=f.get("requestId"),
            resources=f.get("resources"))
        messages.append(m.prepare_message())
        expected.append({OUR_NAMES.get(k, k): v for k, v in expected_siwe_fields(f, address).items()})
    ours = call(tool, "siwe-parse", messages)
    for text, got, want in zip(messages, ours, expected):
        assert got == want, text


UNICODE_STATEMENTS = ["Sign in to Venice — AI", "héllo", "日本語のステートメント", "emoji 🚀", "tab\there", "quote \"x\"",
                      "back\\slash", "percent %41", "caret ^", "pipe |", "brace {x}", "lt <x>"]


@pytest.mark.parametrize("statement", UNICODE_STATEMENTS)
def test_statement_charset_agrees_with_siwe(tool, statement):
    """siwe's ABNF allows only RFC 3986 reserved/unreserved characters and space in a statement
    (no Unicode, no `"`, `\\`, `%`, `^`, `|`, `{}`, `<>`, tab): both sides must refuse the same."""
    base = ("example.com wants you to sign in with your Ethereum account:\n" + ANVIL0_ADDRESS +
            "\n\n{}\n\nURI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: 12345678\nIssued At: 2025-01-01T00:00:00Z")
    text = base.format(statement)
    try:
        SiweMessage.from_message(text)
        siwe_ok = True
    except Exception:
        siwe_ok = False
    try:
        SiweMessage(domain="example.com", address=ANVIL0_ADDRESS, statement=statement, uri="https://example.com",
                    version="1", chain_id=1, nonce="12345678", issued_at="2025-01-01T00:00:00Z")
        siwe_build_ok = True
    except Exception:
        siwe_build_ok = False
    ours = call(tool, "siwe-parse", [text])[0]
    rendered = call(tool, "siwe-render", {"key": ANVIL0, "messages": [
        {"domain": "example.com", "statement": statement, "uri": "https://example.com", "chainId": 1,
         "nonce": "12345678", "issuedAt": "2025-01-01T00:00:00Z"}]})[0]
    assert siwe_ok is False and siwe_build_ok is False
    assert ours.get("error") == "siwe_invalid_statement"
    assert rendered.get("error") == "siwe_invalid_statement"


REJECTED_BY_BOTH = [
    ("lowercase nonce dash", lambda t: t.replace("Nonce: 12345678", "Nonce: abcd-1234")),
    ("short nonce", lambda t: t.replace("Nonce: 12345678", "Nonce: 1234567")),
    ("bad date", lambda t: t.replace("2025-01-01T00:00:00Z", "2025-01-01")),
    ("misordered", lambda t: t.replace("Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1")),
    ("unknown line", lambda t: t + "\nFoo: bar"),
    ("trailing newline", lambda t: t + "\n"),
    ("domain with path", lambda t: t.replace("example.com wants", "example.com/x wants")),
    ("version 2", lambda t: t.replace("Version: 1", "Version: 2")),
    ("statement newline", lambda t: t.replace("\n\n\nURI", "\n\nline one\nline two\n\nURI")),
]


@pytest.mark.parametrize("name,mutate", REJECTED_BY_BOTH, ids=[n for n, _ in REJECTED_BY_BOTH])
def test_malformed_messages_are_rejected_by_both(tool, name, mutate):
    base = ("example.com wants you to sign in with your Ethereum account:\n" + ANVIL0_ADDRESS +
            "\n\n\nURI: https://example.com\nVersion: 1\nChain ID: 1\nNonce: 12345678\nIssued At: 2025-01-01T00:00:00Z")
    assert "error" not in call(tool, "siwe-parse", [base])[0]
    text = mutate(base)
    with pytest.raises(Exception):
        SiweMessage.from_message(text)
    assert "error" in call(tool, "siwe-parse", [text])[0], name


def test_our_siwx_headers_decode_and_verify_in_python(tool):
    now_ms = 1_767_225_600_000
    headers = call(tool, "siwx-sign", {"key": ANVIL0, "count": 20, "nowMs": now_ms})
    nonces = set()
    for h in headers:
        payload = json.loads(base64.b64decode(h, validate=True))
        assert list(payload) == ["address", "message", "signature", "chainId"]
        assert payload["chainId"] == 8453 and payload["address"] == ANVIL0_ADDRESS
        m = SiweMessage.from_message(payload["message"])
        assert m.domain == "api.venice.ai" and m.uri == "https://api.venice.ai" and m.chain_id == 8453
        assert m.issued_at == "2026-01-01T00:00:00.000Z" and m.expiration_time == "2026-01-01T00:04:00.000Z"
        assert len(m.nonce) == 16 and all(c in "0123456789abcdef" for c in m.nonce)
        nonces.add(m.nonce)
        m.verify(payload["signature"], timestamp=to_datetime("2026-01-01T00:01:00Z"))
    assert len(nonces) == 20
    verified = call(tool, "siwx-verify", {"headers": headers, "nowMs": now_ms + 60_000})
    assert all("error" not in v for v in verified)


def test_x402_sdk_siwx_headers_verify_with_ours(tool):
    from x402.extensions.sign_in_with_x import create_siwx_payload, encode_siwx_header
    acct = Account.from_key("0x" + ANVIL0)
    headers = []
    for i in range(10):
        info = {"domain": "api.venice.ai", "uri": "https://api.venice.ai/api/v1/chat/completions", "version": "1",
                "nonce": f"{i:016x}", "issuedAt": "2026-01-01T00:00:00.000Z",
                "expirationTime": "2026-01-01T00:05:00.000Z", "statement": "Sign in to Venice AI",
                "chainId": "eip155:8453", "type": "eip191"}
        if i % 2:
            info["resources"] = ["https://api.venice.ai/api/v1/chat/completions"]
        payload = asyncio.run(create_siwx_payload(info, acct, "https://api.venice.ai/api/v1/chat/completions"))
        headers.append(encode_siwx_header(payload))
    verified = call(tool, "siwx-verify", {"headers": headers, "nowMs": 1_767_225_660_000})
    for v in verified:
        assert "error" not in v, v
        assert v["address"] == ANVIL0_ADDRESS
    # And a tampered one fails with the Venice code.
    bad = json.loads(base64.b64decode(headers[0]))
    bad["nonce"] = "ffffffffffffffff"
    tampered = base64.b64encode(json.dumps(bad).encode()).decode()
    assert call(tool, "siwx-verify", {"headers": [tampered], "nowMs": 1_767_225_660_000})[0]["error"] == "X402_SIGN_IN_INVALID_SIGNATURE"
