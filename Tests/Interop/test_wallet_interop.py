"""Our key commands against eth-account / eth-keyfile, byte for byte (issue 2)."""
import json
import os
import random

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_keyfile import create_keyfile_json, decode_keyfile_json

from conftest import run

RNG = random.Random(0x5EED)
FAST_N = 1024  # keystores in this suite use a small scrypt cost to stay quick


def _messages():
    """Empty, binary, multi-byte UTF-8, long and random messages."""
    fixed = [
        b"",
        b"Hello, world!",
        bytes(range(256)),
        "héllo ✓ — 日本語 🦊".encode(),
        b"\x00" * 32,
        bytes(RNG.getrandbits(8) for _ in range(5 * 1024)),
        b"\n\r\x19Ethereum Signed Message:\n",
    ]
    while len(fixed) < 110:
        n = RNG.choice([0, 1, 31, 32, 33, 135, 136, 137, 300, 1000])
        fixed.append(bytes(RNG.getrandbits(8) for _ in range(n)))
    return fixed


@pytest.fixture(scope="module")
def keystores(tmp_path_factory, agent_bin):
    """Ten random keys imported through `key import` (each signs 11 messages: 110 in all)."""
    d = tmp_path_factory.mktemp("ks")
    pw = d / "pw"
    pw.write_bytes(b"interop password\n")
    out = []
    for i in range(10):
        key = RNG.getrandbits(256).to_bytes(32, "big")
        path = d / f"k{i}.json"
        addr = run([agent_bin, "key", "import", "--keystore", path, "--password-file", pw, "--scrypt-n", FAST_N],
                   stdin=("0x" + key.hex() + "\n").encode()).stdout.decode().strip()
        assert addr == Account.from_key(key).address
        out.append((key, path, pw))
    return out


def test_personal_sign_equals_eth_account_for_random_keys_and_messages(keystores, agent_bin):
    messages = _messages()
    for i, message in enumerate(messages):
        key, path, pw = keystores[i % len(keystores)]
        ours = run([agent_bin, "key", "sign-message", "--keystore", path, "--password-file", pw], stdin=message).stdout.decode().strip()
        theirs = "0x" + Account.sign_message(encode_defunct(primitive=message), private_key=key).signature.hex().removeprefix("0x")
        assert ours == theirs, f"message #{i} ({len(message)} bytes)"
    assert len(messages) >= 100


MAIL = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                         {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
        "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
        "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"}, {"name": "contents", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "Ether Mail", "version": "1", "chainId": 1, "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
    "message": {"from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
                "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}, "contents": "Hello, Bob!"},
}

USDC = {
    "types": {
        "EIP712Domain": MAIL["types"]["EIP712Domain"],
        "TransferWithAuthorization": [
            {"name": "from", "type": "address"}, {"name": "to", "type": "address"}, {"name": "value", "type": "uint256"},
            {"name": "validAfter", "type": "uint256"}, {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}],
    },
    "primaryType": "TransferWithAuthorization",
    "domain": {"name": "USD Coin", "version": "2", "chainId": 8453, "verifyingContract": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"},
    "message": {"from": None, "to": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "value": 10_000_000,
                "validAfter": 1767225000, "validBefore": 1767225900,
                "nonce": "0x" + bytes(range(32)).hex()},
}

NESTED = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
        "Leaf": [{"name": "tag", "type": "bytes"}, {"name": "flags", "type": "bool[]"}, {"name": "delta", "type": "int64"}],
        "Group": [{"name": "label", "type": "string"}, {"name": "leaves", "type": "Leaf[]"}, {"name": "grid", "type": "uint16[2][]"}],
        "Root": [{"name": "groups", "type": "Group[2]"}, {"name": "owner", "type": "address"},
                 {"name": "id", "type": "bytes32"}, {"name": "short", "type": "bytes4"}, {"name": "note", "type": "string"}],
    },
    "primaryType": "Root",
    "domain": {"name": "Nested", "chainId": 8453},
    "message": {
        "groups": [
            {"label": "a", "leaves": [{"tag": "0xdead", "flags": [True, False], "delta": -5},
                                       {"tag": "0x", "flags": [], "delta": 9223372036854775807}],
             "grid": [[1, 2], [65535, 0]]},
            {"label": "ünïcödé", "leaves": [], "grid": []},
        ],
        "owner": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "id": "0x" + "ab" * 32,
        "short": "0x01020304",
        "note": "",
    },
}


@pytest.mark.parametrize("name", ["mail", "usdc", "nested"])
def test_eip712_signature_equals_eth_account(name, keystores, agent_bin):
    key, path, pw = keystores[0]
    doc = json.loads(json.dumps({"mail": MAIL, "usdc": USDC, "nested": NESTED}[name]))
    if name == "usdc":
        doc["message"]["from"] = Account.from_key(key).address
    ours = run([agent_bin, "key", "sign-typed-data", "--keystore", path, "--password-file", pw],
               stdin=json.dumps(doc).encode()).stdout.decode().strip()
    theirs = "0x" + Account.sign_message(encode_typed_data(full_message=doc), private_key=key).signature.hex().removeprefix("0x")
    assert ours == theirs


def test_our_keystore_decrypts_with_eth_keyfile(tmp_path, agent_bin):
    pw = tmp_path / "pw"
    pw.write_bytes("pässwörd with spaces\n".encode())
    path = tmp_path / "new.json"
    address = run([agent_bin, "key", "new", "--keystore", path, "--password-file", pw, "--scrypt-n", FAST_N]).stdout.decode().strip()
    doc = json.loads(path.read_text())
    secret = decode_keyfile_json(doc, "pässwörd with spaces".encode())
    assert Account.from_key(secret).address == address
    assert os.stat(path).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_eth_keyfile_keystores_decrypt_with_ours(kdf, tmp_path, agent_bin):
    key = RNG.getrandbits(256).to_bytes(32, "big")
    doc = create_keyfile_json(key, b"their password", kdf=kdf, iterations=FAST_N if kdf == "scrypt" else 1000)
    path = tmp_path / f"{kdf}.json"
    path.write_text(json.dumps(doc))
    pw = tmp_path / "pw"
    pw.write_bytes(b"their password")
    sig = run([agent_bin, "key", "sign-message", "--keystore", path, "--password-file", pw], stdin=b"probe").stdout.decode().strip()
    assert sig == "0x" + Account.sign_message(encode_defunct(primitive=b"probe"), private_key=key).signature.hex().removeprefix("0x")


def test_wrong_password_is_a_clear_error_not_a_crash(tmp_path, agent_bin):
    key = RNG.getrandbits(256).to_bytes(32, "big")
    path = tmp_path / "k.json"
    path.write_text(json.dumps(create_keyfile_json(key, b"right", kdf="scrypt", iterations=FAST_N)))
    pw = tmp_path / "pw"
    pw.write_bytes(b"wrong")
    proc = run([agent_bin, "key", "sign-message", "--keystore", path, "--password-file", pw], stdin=b"x", check=False)
    assert proc.returncode == 1
    assert b"wrong password or corrupted keystore" in proc.stderr
    assert key.hex().encode() not in proc.stderr + proc.stdout


def test_import_refuses_to_overwrite_and_never_prints_the_key(tmp_path, agent_bin):
    key = RNG.getrandbits(256).to_bytes(32, "big")
    pw = tmp_path / "pw"
    pw.write_bytes(b"pw")
    path = tmp_path / "k.json"
    first = run([agent_bin, "key", "import", "--keystore", path, "--password-file", pw, "--scrypt-n", FAST_N], stdin=key.hex().encode())
    before = path.read_bytes()
    second = run([agent_bin, "key", "import", "--keystore", path, "--password-file", pw, "--scrypt-n", FAST_N],
                 stdin=("0x" + key.hex()).encode(), check=False)
    assert second.returncode != 0 and b"already exists" in second.stderr
    assert path.read_bytes() == before
    for proc in (first, second):
        assert key.hex().encode() not in proc.stdout + proc.stderr


def test_key_on_the_command_line_is_not_accepted(tmp_path, agent_bin):
    proc = run([agent_bin, "key", "import", "--keystore", tmp_path / "k.json", "--private-key", "0x" + "11" * 32], check=False)
    assert proc.returncode != 0
    assert not (tmp_path / "k.json").exists()
