"""x402 / EIP-3009 interop: eth-account recovers our authorization signer; the x402 SDK decodes our
PAYMENT-SIGNATURE and its own facilitator verification (ExactEvmScheme) accepts it."""
import base64
import json
import random
import time

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from x402.http.utils import decode_payment_required_header, decode_payment_signature_header
from x402.mechanisms.evm.eip712 import hash_eip3009_authorization
from x402.mechanisms.evm.exact.facilitator import ExactEvmScheme
from x402.mechanisms.evm.types import ExactEIP3009Authorization

from conftest import binary, run

ANVIL0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL0_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"


@pytest.fixture(scope="module")
def tool():
    return binary("interop-tool")


def call(tool, command, payload):
    return json.loads(run([tool, command], stdin=json.dumps(payload).encode()).stdout)


def typed(auth: dict, from_address: str) -> dict:
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "TransferWithAuthorization": [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                                          {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
                                          {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}],
        },
        "primaryType": "TransferWithAuthorization",
        "domain": {"name": "USD Coin", "version": "2", "chainId": 8453, "verifyingContract": USDC},
        "message": {"from": from_address, "to": auth["to"], "value": int(auth["value"]),
                    "validAfter": int(auth["validAfter"]), "validBefore": int(auth["validBefore"]),
                    "nonce": bytes.fromhex(auth["nonce"][2:])},
    }


def test_eth_account_recovers_our_eip3009_signer(tool):
    rng = random.Random(3009)
    auths = []
    for _ in range(100):
        after = rng.randrange(0, 2**40)
        auths.append({"to": Account.create(str(rng.random())).address, "value": str(rng.randrange(0, 2**200)),
                      "validAfter": str(after), "validBefore": str(after + rng.randrange(1, 10**6)),
                      "nonce": "0x" + rng.randbytes(32).hex()})
    out = call(tool, "eip3009-sign", {"key": ANVIL0, "authorizations": auths})
    for auth, got in zip(auths, out):
        signable = encode_typed_data(full_message=typed(auth, ANVIL0_ADDRESS))
        assert Account.recover_message(signable, signature=got["signature"]) == ANVIL0_ADDRESS
        x402_digest = hash_eip3009_authorization(
            ExactEIP3009Authorization(from_address=ANVIL0_ADDRESS, to=auth["to"], value=auth["value"],
                                      valid_after=auth["validAfter"], valid_before=auth["validBefore"], nonce=auth["nonce"]),
            8453, USDC, "USD Coin", "2")
        assert "0x" + x402_digest.hex() == got["digest"]
        # Same bytes as eth-account's own signature (RFC 6979 determinism).
        assert Account.sign_message(signable, private_key="0x" + ANVIL0).signature.hex().removeprefix("0x") == got["signature"][2:]


class FakeChain:
    """The minimal FacilitatorEvmSigner the exact-scheme verifier needs without simulation:
    eth_getCode says the asset is a contract and the payer an EOA."""

    def get_addresses(self):
        return ["0x0000000000000000000000000000000000000001"]

    def get_code(self, address: str) -> bytes:
        return b"\x60\x80" if address.lower() == USDC.lower() else b""

    def read_contract(self, *args, **kwargs):
        raise AssertionError("no chain reads expected")

    def verify_typed_data(self, *args, **kwargs):
        raise AssertionError("not expected")


def payment_required(amount="5000000", accepts_extra=None):
    entry = {"scheme": "exact", "network": "eip155:8453", "amount": amount, "asset": USDC.lower(), "payTo": PAY_TO,
             "maxTimeoutSeconds": 300, "extra": {"name": "USD Coin", "version": "2"}}
    if accepts_extra:
        entry.update(accepts_extra)
    body = {"x402Version": 2, "resource": {"url": "https://api.venice.ai/api/v1/x402/top-up"},
            "accepts": [entry, {"scheme": "exact", "network": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "amount": amount,
                                "asset": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "payTo": "So1ana",
                                "maxTimeoutSeconds": 300, "extra": {"name": "USD Coin", "version": "2", "feePayer": "F"}}]}
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


@pytest.mark.parametrize("amount", [5_000_000, 10_000_000, 123_456_789])
def test_x402_sdk_decodes_and_its_facilitator_verifies_our_payment(tool, amount):
    pr_header = payment_required()
    out = call(tool, "payment-header", {"key": ANVIL0, "paymentRequired": pr_header, "amount": amount,
                                        "nowMs": int(time.time() * 1000)})
    payload = decode_payment_signature_header(out["header"])
    assert payload.x402_version == 2
    auth = payload.payload["authorization"]
    assert auth["from"] == ANVIL0_ADDRESS and auth["to"] == PAY_TO and auth["value"] == str(amount)
    assert int(auth["validBefore"]) - int(auth["validAfter"]) == 900
    # Venice: accepted is the chosen entry with amount = the signed value; everything else verbatim.
    required = decode_payment_required_header(pr_header)
    original = json.loads(base64.b64decode(pr_header))["accepts"][0]
    assert json.loads(out["json"])["accepted"] == {**original, "amount": str(amount)}
    requirements = payload.accepted  # what the server matches against
    assert requirements.pay_to == required.accepts[0].pay_to
    result, _ = ExactEvmScheme(FakeChain())._verify(payload, requirements, simulate=False)
    assert result.is_valid, result
    assert result.payer == ANVIL0_ADDRESS


def test_facilitator_rejects_a_tampered_payment(tool):
    out = call(tool, "payment-header", {"key": ANVIL0, "paymentRequired": payment_required(), "amount": 5_000_000})
    data = json.loads(base64.b64decode(out["header"]))
    data["payload"]["authorization"]["value"] = "6000000"
    data["accepted"]["amount"] = "6000000"
    payload = decode_payment_signature_header(base64.b64encode(json.dumps(data).encode()).decode())
    result, _ = ExactEvmScheme(FakeChain())._verify(payload, payload.accepted, simulate=False)
    assert not result.is_valid and "signature" in result.invalid_reason


def test_x1_vector_header_decodes_identically():
    """The PROTOCOLS.md X1 PAYMENT-SIGNATURE: the SDK's own bytes (Swift equality is in PaymentTests.x1)."""
    x1 = ("eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJhdXRob3JpemF0aW9uIjp7ImZyb20iOiIweGYzOUZkNmU1MWFhZDg4RjZGNGNlNmFCODgyNzI3OWNmZkZiOTIyNjYiLCJ0byI6IjB4MjA5NjkzQmM2YWZjMEM1MzI4YkEzNkZhRjAzQzUxNEVGMzEyMjg3QyIsInZhbHVlIjoiMTAwMDAiLCJ2YWxpZEFmdGVyIjoiMCIsInZhbGlkQmVmb3JlIjoiMTc2NzIyNTkwMCIsIm5vbmNlIjoiMHhmYTliYmViOWNhOWQyNmU4Zjk1MDk2N2I4YmI0OWFlMzliOGRjMjE3YTFlMzQyOThkMjEwMTkxNWVmYjRkYzgyIn0sInNpZ25hdHVyZSI6IjB4ZTFmNDE3OGYzYjM5YzI4Y2JlMWM1NDE4ZDc2OGZjNWZmNDRmZDBkNjAwYTJiYjY3NDMzZTQzNTI0YmFjMTZiODUxZDMxYjBiMTM1ZTJiNmE3MjE2OGY4MDcwYTlhZGYyMjlhZDEyMTZhYWJhZGQxZjFlOGFhODNmYTBkMDkwNTgxYyJ9LCJhY2NlcHRlZCI6eyJzY2hlbWUiOiJleGFjdCIsIm5ldHdvcmsiOiJlaXAxNTU6ODQ1MyIsImFzc2V0IjoiMHg4MzM1ODlmQ0Q2ZURiNkUwOGY0YzdDMzJENGY3MWI1NGJkQTAyOTEzIiwiYW1vdW50IjoiMTAwMDAiLCJwYXlUbyI6IjB4MjA5NjkzQmM2YWZjMEM1MzI4YkEzNkZhRjAzQzUxNEVGMzEyMjg3QyIsIm1heFRpbWVvdXRTZWNvbmRzIjozMDAsImV4dHJhIjp7Im5hbWUiOiJVU0QgQ29pbiIsInZlcnNpb24iOiIyIn19LCJyZXNvdXJjZSI6eyJ1cmwiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9wcmVtaXVtLWRhdGEiLCJkZXNjcmlwdGlvbiI6IkFjY2VzcyB0byBwcmVtaXVtIG1hcmtldCBkYXRhIiwibWltZVR5cGUiOiJhcHBsaWNhdGlvbi9qc29uIn19")
    payload = decode_payment_signature_header(x1)
    assert payload.payload["authorization"]["nonce"] == "0xfa9bbeb9ca9d26e8f950967b8bb49ae39b8dc217a1e34298d2101915efb4dc82"
