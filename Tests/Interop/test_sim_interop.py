"""venice-sim against independent Python implementations (siwe, eth-account, the x402 SDK).

Starts the built `venice-sim` (VENICE_BIN_DIR, default .build/debug) on an ephemeral port, then:
a SIWX header made by siwe + eth-account (Venice payload of PROTOCOLS.md §7.2) is accepted,
a top-up signed by the x402 SDK (and one signed by eth-account EIP-712 directly) is credited,
a replayed SIWX header is refused with X402_SIGN_IN_NONCE_REUSED, and the media decode with
Python's own zlib and wave modules.
"""
import asyncio
import base64
import io
import json
import os
import secrets
import signal
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import wave
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from siwe import SiweMessage

from conftest import binary

# Anvil's well-known test key 0 (public test vector, never a real wallet).
ANVIL0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ACCOUNT = Account.from_key(ANVIL0)
BASE_USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


@pytest.fixture(scope="module")
def sim():
    folder = tempfile.mkdtemp(prefix="venice-sim-")
    port_file = Path(folder) / "port"
    proc = subprocess.Popen(
        [str(binary("venice-sim")), "--port", "0", "--port-file", str(port_file), "--quiet",
         "--admin-key", "interop-admin", "--staked-wallet", ACCOUNT.address],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"venice-sim did not start: {proc.stderr.read().decode(errors='replace')}")
        time.sleep(0.05)
    port = int(port_file.read_text().strip())
    yield f"http://127.0.0.1:{port}/api/v1"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0, "venice-sim must exit cleanly on SIGTERM"


def request(url, method="GET", headers=None, body=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if isinstance(body, (dict, list)):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def siwx_header(issued_at=None):
    now = issued_at or datetime.now(timezone.utc)
    message = SiweMessage(
        domain="api.venice.ai", address=ACCOUNT.address, statement="Sign in to Venice AI",
        uri="https://api.venice.ai", version="1", chain_id=8453, nonce=secrets.token_hex(8),
        issued_at=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        expiration_time=(now + timedelta(minutes=4)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    ).prepare_message()
    signature = Account.sign_message(encode_defunct(text=message), private_key=ANVIL0).signature.hex()
    if not signature.startswith("0x"):
        signature = "0x" + signature
    payload = {"address": ACCOUNT.address, "message": message, "signature": signature,
               "timestamp": int(now.timestamp() * 1000), "chainId": 8453}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def balance(sim):
    status, _, body = request(f"{sim}/x402/balance/{ACCOUNT.address}", headers={"SIGN-IN-WITH-X": siwx_header()})
    assert status == 200, body
    return json.loads(body)["data"]["balanceUsd"]


def test_siwx_from_siwe_and_eth_account_is_accepted(sim):
    status, _, body = request(f"{sim}/x402/balance/{ACCOUNT.address}", headers={"SIGN-IN-WITH-X": siwx_header()})
    assert status == 200, body
    assert json.loads(body)["data"]["walletAddress"] == ACCOUNT.address.lower()


def test_top_up_signed_by_the_x402_sdk_is_credited(sim):
    from x402 import x402Client
    from x402.http import x402HTTPClient
    from x402.http.utils import decode_payment_required_header
    from x402.mechanisms.evm.exact import register_exact_evm_client

    before = balance(sim)
    status, headers, body = request(f"{sim}/x402/top-up", method="POST")
    assert status == 402
    required = decode_payment_required_header(headers["PAYMENT-REQUIRED"])
    # The SDK caps payments at $1 by default; Venice's minimum top-up is $5.
    client = x402Client().set_spend_controls(False)
    register_exact_evm_client(client, ACCOUNT, networks="eip155:8453")
    payload = asyncio.run(client.create_payment_payload(required))
    header = x402HTTPClient(client).encode_payment_signature_header(payload)
    status, headers, body = request(f"{sim}/x402/top-up", method="POST", headers=header)
    assert status == 200, body
    data = json.loads(body)["data"]
    assert data["amountCredited"] == 5
    assert data["walletAddress"] == ACCOUNT.address.lower()
    settlement = json.loads(base64.b64decode(headers["PAYMENT-RESPONSE"]))
    assert settlement["success"] is True and settlement["payer"] == ACCOUNT.address
    assert balance(sim) == pytest.approx(before + 5)
    # Resubmitting the same payment credits nothing more.
    status, _, _ = request(f"{sim}/x402/top-up", method="POST", headers=header)
    assert status == 200
    assert balance(sim) == pytest.approx(before + 5)


def test_top_up_signed_with_eth_account_eip712_is_credited(sim):
    _, headers, _ = request(f"{sim}/x402/top-up", method="POST")
    offer = json.loads(base64.b64decode(headers["PAYMENT-REQUIRED"]))["accepts"][0]
    now = int(time.time())
    authorization = {"from": ACCOUNT.address, "to": offer["payTo"], "value": "12500000",
                     "validAfter": str(now - 600), "validBefore": str(now + 300), "nonce": "0x" + secrets.token_hex(32)}
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "TransferWithAuthorization": [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                                          {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
                                          {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}]},
        "primaryType": "TransferWithAuthorization",
        "domain": {"name": "USD Coin", "version": "2", "chainId": 8453, "verifyingContract": BASE_USDC},
        "message": {**authorization, "value": int(authorization["value"]), "validAfter": int(authorization["validAfter"]),
                    "validBefore": int(authorization["validBefore"]), "nonce": bytes.fromhex(authorization["nonce"][2:])},
    }
    signature = Account.sign_message(encode_typed_data(full_message=typed), private_key=ANVIL0).signature.hex()
    if not signature.startswith("0x"):
        signature = "0x" + signature
    before = balance(sim)
    v1 = {"x402Version": 1, "scheme": "exact", "network": "base", "payload": {"signature": signature, "authorization": authorization}}
    status, _, body = request(f"{sim}/x402/top-up", method="POST", headers={"X-PAYMENT": base64.b64encode(json.dumps(v1).encode()).decode()})
    assert status == 200, body
    assert json.loads(body)["data"]["amountCredited"] == 12.5
    assert balance(sim) == pytest.approx(before + 12.5)


def test_replayed_siwx_header_is_refused_with_nonce_reused(sim):
    header = siwx_header()
    body = {"model": "z-image-turbo", "prompt": "interop", "width": 40, "height": 24, "format": "png", "seed": 3}
    if balance(sim) < 0.1:
        pytest.fail("wallet should hold credit from the top-up tests")
    status, _, first = request(f"{sim}/image/generate", method="POST", headers={"SIGN-IN-WITH-X": header}, body=body)
    assert status == 200, first
    status, _, second = request(f"{sim}/image/generate", method="POST", headers={"SIGN-IN-WITH-X": header}, body=body)
    assert status == 401
    assert json.loads(second)["code"] == "X402_SIGN_IN_NONCE_REUSED"


def test_png_and_wav_decode_with_python(sim):
    body = {"model": "z-image-turbo", "prompt": "interop", "width": 40, "height": 24, "format": "png", "return_binary": True}
    status, headers, png = request(f"{sim}/image/generate", method="POST", headers={"SIGN-IN-WITH-X": siwx_header()}, body=body)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    idat, offset = b"", 8
    while offset < len(png):
        length = struct.unpack(">I", png[offset:offset + 4])[0]
        kind = png[offset + 4:offset + 8]
        chunk = png[offset + 8:offset + 8 + length]
        assert struct.unpack(">I", png[offset + 8 + length:offset + 12 + length])[0] == zlib.crc32(kind + chunk)
        if kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    assert (width, height) == (40, 24)
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)

    speech = {"model": "tts-kokoro", "input": "hello from python", "response_format": "wav"}
    status, headers, audio = request(f"{sim}/audio/speech", method="POST", headers={"SIGN-IN-WITH-X": siwx_header()}, body=speech)
    assert status == 200 and headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(audio)) as clip:
        assert clip.getnchannels() == 1 and clip.getsampwidth() == 2
        assert clip.getnframes() / clip.getframerate() > 0.5


def test_web3_key_minted_with_eth_account_personal_sign(sim):
    _, _, body = request(f"{sim}/api_keys/generate_web3_key")
    token = json.loads(body)["data"]["token"]
    signature = Account.sign_message(encode_defunct(text=token), private_key=ANVIL0).signature.hex()
    if not signature.startswith("0x"):
        signature = "0x" + signature
    status, _, body = request(f"{sim}/api_keys/generate_web3_key", method="POST",
                              body={"address": ACCOUNT.address, "signature": signature, "token": token, "apiKeyType": "INFERENCE"})
    assert status == 200, body
    key = json.loads(body)["data"]["apiKey"]
    assert key.startswith("VENICE_INFERENCE_KEY_")
    status, _, _ = request(f"{sim}/api_keys/rate_limits", headers={"Authorization": f"Bearer {key}"})
    assert status == 200


@pytest.mark.parametrize("fmt,tool", [("webp", ["dwebp", "{src}", "-ppm", "-o", "{dst}"]), ("jpeg", ["djpeg", "-pnm", "-outfile", "{dst}", "{src}"])])
def test_webp_and_jpeg_decode_with_libwebp_and_libjpeg(sim, fmt, tool):
    import shutil
    if shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} not installed (Debian: webp, libjpeg-turbo-progs)")
    body = {"model": "z-image-turbo", "prompt": "interop", "width": 33, "height": 17, "format": fmt, "return_binary": True, "seed": 9}
    status, headers, image = request(f"{sim}/image/generate", method="POST", headers={"SIGN-IN-WITH-X": siwx_header()}, body=body)
    assert status == 200 and headers["Content-Type"] == f"image/{fmt}"
    folder = tempfile.mkdtemp(prefix="venice-sim-img-")
    src, dst = os.path.join(folder, f"in.{fmt}"), os.path.join(folder, "out.ppm")
    with open(src, "wb") as handle:
        handle.write(image)
    subprocess.run([part.format(src=src, dst=dst) for part in tool], check=True, capture_output=True)
    with open(dst, "rb") as handle:
        assert handle.read().split(b"\n")[1] == b"33 17"
