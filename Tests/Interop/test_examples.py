"""Each program in examples/ runs unchanged against an agent in front of venice-sim."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_processes import agent, simulator
from cli_support import new_key, png_size, wav_seconds

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def sock():
    key, address = new_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (path, _, _):
        yield path


def run_example(args, sock, tmp_path):
    env = dict(os.environ, VENICE_AGENT_SOCK=str(sock))
    proc = subprocess.run([*map(str, args), str(tmp_path)], capture_output=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode()


def test_curl_example(sock, tmp_path):
    out = run_example([EXAMPLES / "curl.sh"], sock, tmp_path)
    assert '"locked":false' in out.replace(" ", "")
    assert png_size((tmp_path / "curl-image.png").read_bytes()) == (256, 256)
    assert wav_seconds((tmp_path / "curl-speech.wav").read_bytes()) > 0


def test_openai_sdk_example(sock, tmp_path):
    out = run_example([sys.executable, EXAMPLES / "openai_sdk.py"], sock, tmp_path)
    assert png_size((tmp_path / "openai-image.png").read_bytes()) == (256, 256)
    assert wav_seconds((tmp_path / "openai-speech.wav").read_bytes()) > 0
    assert "transcript:" in out


@pytest.mark.skipif(subprocess.run(["which", "node"], capture_output=True).returncode != 0, reason="node is not installed")
def test_node_example(sock, tmp_path):
    out = run_example(["node", EXAMPLES / "node_client.mjs"], sock, tmp_path)
    assert "locked: false" in out and "balance: $" in out
    assert png_size((tmp_path / "node-image.png").read_bytes()) == (256, 256)
