"""Shared fixtures for the interop suite: where our binaries are, and how to run them."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("VENICE_BIN_DIR", ROOT / ".build" / "debug"))


def binary(name: str) -> Path:
    path = BIN_DIR / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build first (make build) or set VENICE_BIN_DIR")
    return path


def run(args, stdin: bytes = b"", check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return proc


@pytest.fixture(scope="session")
def agent_bin() -> Path:
    return binary("venice-agent")
