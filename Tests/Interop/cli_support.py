"""Helpers for driving the venice-agent CLI as a process (test_cli.py, test_demo.py, test_examples.py)."""
import os
import secrets
import struct
import subprocess

from eth_account import Account

from conftest import binary

# The agent answers these when a route is not implemented yet (issue 6 endpoints).


def new_key():
    key = secrets.token_bytes(32)
    return key.hex(), Account.from_key(key).address


def cli(*args, sock=None, env=None, stdin=b"", timeout=120, cwd=None) -> subprocess.CompletedProcess:
    """Runs `venice-agent ARGS…` (with --socket SOCK when given); stdout/stderr decoded."""
    full = [str(binary("venice-agent")), *map(str, args)]
    if sock is not None:
        full += ["--socket", str(sock)]
    environment = {k: v for k, v in os.environ.items() if k not in ("VENICE_AGENT_SOCK", "VENICE_AGENT_TOKEN")}
    environment.update(env or {})
    proc = subprocess.run(full, input=stdin, capture_output=True, timeout=timeout, env=environment, cwd=cwd)
    proc.stdout = proc.stdout.decode(errors="replace")
    proc.stderr = proc.stderr.decode(errors="replace")
    return proc


def ok(proc) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    return proc.stdout


def one_error_line(proc) -> str:
    """The CLI's contract for failures: exit 1, nothing on stdout, one line on stderr."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("venice-agent: error: "), lines[0]
    return lines[0]


def png_size(data: bytes):
    """(width, height) from a PNG's IHDR chunk; asserts the signature and chunk order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def wav_seconds(data: bytes) -> float:
    """Duration of a PCM WAV from its RIFF header; asserts the header is valid."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:12]
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    pos, rate, block = 12, None, None
    while pos + 8 <= len(data):
        kind, size = struct.unpack("<4sI", data[pos:pos + 8])
        if kind == b"fmt ":
            _, channels, rate, _, block = struct.unpack("<HHIIH", data[pos + 8:pos + 22])
        if kind == b"data":
            assert rate and block, "data chunk before fmt chunk"
            return size / (rate * block)
        pos += 8 + size + (size & 1)
    raise AssertionError("no data chunk")
