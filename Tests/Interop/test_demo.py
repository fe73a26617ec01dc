"""`make demo`'s script, run to the end against the built binaries, and what it leaves behind."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN_DIR
from cli_support import png_size, wav_seconds

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.sh"


def our_processes():
    """pids of venice-sim / venice-agent processes started from BIN_DIR."""
    found = set()
    real = BIN_DIR.resolve()  # .build/debug is a symlink; /proc/PID/exe is the real path
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                exe = os.readlink(entry / "exe")
            except OSError:
                continue
            if exe in (str(real / "venice-sim"), str(real / "venice-agent")):
                found.add(int(entry.name))
    return found


def test_demo_runs_end_to_end_and_writes_real_media(tmp_path):
    before = our_processes()
    started = time.monotonic()
    proc = subprocess.run([str(DEMO), str(BIN_DIR), str(tmp_path / "out")], capture_output=True, timeout=300)
    elapsed = time.monotonic() - started
    out = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, out + proc.stderr.decode(errors="replace")
    assert elapsed < 180
    pngs = sorted((tmp_path / "out").glob("*.png"))
    assert len(pngs) == 1 and png_size(pngs[0].read_bytes()) == (512, 512)
    assert wav_seconds((tmp_path / "out" / "speech.wav").read_bytes()) > 0.5
    assert 0 < wav_seconds((tmp_path / "out" / "music.wav").read_bytes()) <= 60  # venice-sim renders at most 10 s
    assert "quote: $0.03" in out and "TOP_UP" in out and "CHARGE" in out
    # $10 in; one image ($0.01), the speech (per character) and the music ($0.03) out.
    balance_line = next(l for l in out.splitlines() if l.startswith("balance "))
    balance = float(balance_line.split("$")[1])
    assert 9.95 < balance < 9.97
    # The spend table's total equals what the simulator charged (once the agent has /agent/v1/spend).
    if "AGENT_UNKNOWN_ROUTE: GET /agent/v1/spend" not in out:
        total = next(l for l in out.splitlines() if l.startswith("total "))
        assert float(total.split("$")[-1]) == pytest.approx(10 - balance, abs=1e-6), total
    assert our_processes() - before == set()


def test_demo_interrupted_leaves_no_process_behind(tmp_path):
    before = our_processes()
    # Its own session, so SIGINT can go to the whole group, as Ctrl-C on a terminal does.
    proc = subprocess.Popen([str(DEMO), str(BIN_DIR), str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    seen = b""
    deadline = time.monotonic() + 120
    while b"== 5." not in seen and time.monotonic() < deadline:  # the agent and simulator are both up by step 5
        seen += proc.stdout.read1(4096) or b""
    assert b"== 5." in seen, seen
    assert len(our_processes() - before) >= 2
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    time.sleep(0.2)
    assert our_processes() - before == set()
