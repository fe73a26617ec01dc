"""Start real venice-sim and venice-agent processes for the interop suite."""
import os
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from conftest import binary, run


@contextmanager
def simulator(*extra):
    with tempfile.TemporaryDirectory(prefix="vsim-") as d:
        port_file = Path(d) / "port"
        proc = subprocess.Popen([str(binary("venice-sim")), "--port", "0", "--port-file", str(port_file), *map(str, extra)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while not port_file.exists() or not port_file.read_text().strip():
                if proc.poll() is not None:
                    raise RuntimeError(f"venice-sim exited with {proc.returncode}")
                if time.time() > deadline:
                    raise RuntimeError("venice-sim did not start within 30 s")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port_file.read_text().strip()}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def agent(upstream: str, key_hex: str, *extra, workdir=None, env=None):
    """A keystore for `key_hex` and `venice-agent serve` on a temporary socket; yields (socket, process, address).
    With `workdir`, an existing folder (keystore, state) is reused, as after a restart."""
    d = workdir or tempfile.mkdtemp(prefix="va-", dir="/tmp")
    pw = Path(d) / "pw"
    keystore = Path(d) / "key.json"
    if not keystore.exists():
        pw.write_text("interop\n")
        run([binary("venice-agent"), "key", "import", "--keystore", keystore, "--password-file", pw, "--scrypt-n", 1024],
            stdin=key_hex.encode())
    address = run([binary("venice-agent"), "key", "address", "--keystore", keystore]).stdout.decode().strip()
    sock = Path(d) / "s" / "agent.sock"
    log = open(Path(d) / "agent.log", "ab")
    proc = subprocess.Popen([str(binary("venice-agent")), "serve", "--keystore", str(keystore), "--password-file", str(pw),
                             "--socket", str(sock), "--upstream", upstream + "/api/v1", "--state-dir", str(Path(d) / "state"),
                             "--print-env", *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=log, env={**os.environ, **(env or {})})
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith(f"VENICE_AGENT_SOCK={sock};"), line
        yield sock, proc, address
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def client(sock) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://agent", timeout=60)
