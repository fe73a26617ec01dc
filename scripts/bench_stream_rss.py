#!/usr/bin/env python3
"""Peak RSS of the agent while it streams a 200 MB response and a 64 MB upload (issue 5).

A stub upstream on loopback answers POST /api/v1/image/generate with 200 MB and swallows a
64 MB POST /api/v1/audio/transcriptions; the release agent sits in front of it on a Unix
socket. Usage: bench_stream_rss.py BIN_DIR
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

MB = 1 << 20
DOWN = 200 * MB
UP = 64 * MB
CHUNK = b"\0" * MB


class Stub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        received = 0
        if chunked:
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                received += len(self.rfile.read(size))
                self.rfile.readline()
        else:
            while received < length:
                received += len(self.rfile.read(min(MB, length - received)))
        if self.path.endswith("/image/generate"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(DOWN))
            self.end_headers()
            for _ in range(DOWN // MB):
                self.wfile.write(CHUNK)
        else:
            body = ('{"text":"ok","received":%d}' % received).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


def vm(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # MiB
    return 0.0


def main():
    bin_dir = Path(sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    with tempfile.TemporaryDirectory(prefix="vbs-", dir="/tmp") as d:
        pw = Path(d) / "pw"
        pw.write_text("bench\n")
        subprocess.run([bin_dir / "venice-agent", "key", "new", "--keystore", Path(d) / "k.json", "--password-file", pw,
                        "--scrypt-n", "1024"], check=True, capture_output=True)
        sock = Path(d) / "agent.sock"
        agent = subprocess.Popen([bin_dir / "venice-agent", "serve", "--keystore", Path(d) / "k.json", "--password-file", pw,
                                  "--socket", sock, "--upstream", upstream, "--state-dir", Path(d) / "state", "--print-env"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            agent.stdout.readline()
            client = httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), base_url="http://agent", timeout=300)
            client.get("/agent/v1/status")
            idle = vm(agent.pid, "VmRSS")
            t0 = time.time()
            got = 0
            with client.stream("POST", "/api/v1/image/generate", json={"model": "z-image-turbo", "prompt": "big"}) as r:
                for chunk in r.iter_bytes(MB):
                    got += len(chunk)
            down_s = time.time() - t0
            peak_down = vm(agent.pid, "VmHWM")

            def upload():
                sent = 0
                while sent < UP:
                    yield CHUNK
                    sent += MB
            t0 = time.time()
            answer = client.post("/api/v1/audio/transcriptions", content=upload(),
                                 headers={"Content-Type": "multipart/form-data; boundary=x"})
            up_s = time.time() - t0
            peak_up = vm(agent.pid, "VmHWM")
            assert got == DOWN, got
            assert answer.json().get("received") == UP, answer.text
            print("== Agent streaming (release, stub upstream on loopback) ==")
            print(f"idle RSS                         {idle:8.1f} MiB")
            print(f"200 MB response: {DOWN / MB / down_s:7.1f} MB/s, peak RSS {peak_down:8.1f} MiB")
            print(f"64 MB upload:    {UP / MB / up_s:7.1f} MB/s, peak RSS {peak_up:8.1f} MiB")
        finally:
            agent.terminate()
            agent.wait(timeout=20)
            server.shutdown()


if __name__ == "__main__":
    main()
