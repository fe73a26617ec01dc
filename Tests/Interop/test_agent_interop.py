"""The agent as a real process: Python clients over its socket, signals, shutdown (issue 5)."""
import base64
import os
import secrets
import signal
import threading
import time

import httpx
import openai
from eth_account import Account

from agent_processes import agent, client, simulator

IMAGE = {"model": "z-image-turbo", "prompt": "a lighthouse at dusk", "width": 256, "height": 256, "format": "png"}


def funded_key():
    key = secrets.token_bytes(32)
    return key.hex(), Account.from_key(key).address


def test_openai_sdk_generates_an_image_through_the_socket():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, _, _):
        sdk = openai.OpenAI(api_key="unused-local", base_url="http://agent/api/v1",
                            http_client=httpx.Client(transport=httpx.HTTPTransport(uds=str(sock))))
        result = sdk.images.generate(model="z-image-turbo", prompt="a red fox", size="256x256", response_format="b64_json")
        png = base64.b64decode(result.data[0].b64_json)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")


def in_progress(sock) -> int:
    with client(sock) as c:
        return c.get("/agent/v1/status").json()["requests_in_progress"]


def test_sigterm_lets_in_flight_requests_finish_and_removes_the_socket():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20", "--latency-ms", "1500") as upstream, agent(upstream, key) as (sock, proc, _):
        results = []

        def call(slow_reader=False):
            with client(sock) as c:
                if not slow_reader:
                    results.append(c.post("/api/v1/image/generate", json=IMAGE).status_code)
                    return
                # Reads nothing for a while after the head: the body (~260 KB, more than the socket
                # buffers) is handed to the connection long before it is read, and the shutdown must
                # not close the connection until it is written.
                with c.stream("POST", "/api/v1/image/generate", json=IMAGE) as answer:
                    time.sleep(2.0)
                    body = answer.read()
                    assert len(body) == int(answer.headers["content-length"]) > 200_000
                    results.append(answer.status_code)

        idle = in_progress(sock)  # counts the status request itself
        threads = [threading.Thread(target=call, args=(i == 2,)) for i in range(3)]
        for t in threads:
            t.start()
        # SIGTERM once all three are inside the agent (waiting on the simulator's latency); a slow
        # machine may take a while to get them there.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and in_progress(sock) < idle + 3:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=30)
        assert results == [200, 200, 200]
        assert proc.wait(timeout=20) == 0
        assert not sock.exists()


def test_a_second_agent_on_a_live_socket_exits_with_a_clear_message(tmp_path):
    key, address = funded_key()
    with simulator() as upstream, agent(upstream, key) as (sock, _, _):
        import subprocess
        from conftest import binary
        keystore = sock.parent.parent / "key.json"
        pw = sock.parent.parent / "pw"
        second = subprocess.run([str(binary("venice-agent")), "serve", "--keystore", str(keystore), "--password-file", str(pw),
                                 "--socket", str(sock), "--upstream", upstream + "/api/v1"], capture_output=True, timeout=30)
        assert second.returncode != 0
        assert b"already listening" in second.stderr
        with client(sock) as c:
            assert c.get("/agent/v1/status").status_code == 200


def test_stale_socket_of_a_dead_agent_is_replaced():
    key, address = funded_key()
    with simulator() as upstream:
        with agent(upstream, key) as (sock, proc, _):
            proc.kill()
            proc.wait()
            assert sock.exists()
            keystore, pw = sock.parent.parent / "key.json", sock.parent.parent / "pw"
        import subprocess
        from conftest import binary
        again = subprocess.Popen([str(binary("venice-agent")), "serve", "--keystore", str(keystore), "--password-file", str(pw),
                                  "--socket", str(sock), "--upstream", upstream + "/api/v1", "--print-env"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert again.stdout.readline().decode().startswith("VENICE_AGENT_SOCK=")
            with client(sock) as c:
                assert c.get("/agent/v1/status").json()["locked"] is False
        finally:
            again.terminate()
            again.wait(timeout=20)


def test_socket_is_private_and_the_log_never_holds_secrets():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, proc, _):
        assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
        assert oct(os.stat(sock.parent).st_mode & 0o777) == "0o700"
        with client(sock) as c:
            assert c.post("/api/v1/image/generate", json=IMAGE, headers={"Authorization": "Bearer sk-openai-style-secret"}).status_code == 200
            assert c.get("/agent/v1/status", headers={"Authorization": "Bearer vat_unknown_token"}).status_code == 401
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log = (sock.parent.parent / "agent.log").read_bytes()
        assert b"route=/api/v1/image/generate" in log and b"status=200" in log
        for secret in (key.encode(), b"sk-openai-style-secret", b"vat_unknown_token", b"interop"):
            assert secret not in log
        assert b"sign-in-with-x" not in log.lower()


def test_daemonize_print_env_works_with_eval(tmp_path):
    import subprocess
    from conftest import binary, run
    key, address = funded_key()
    with simulator() as upstream:
        pw = tmp_path / "pw"
        pw.write_text("pw\n")
        keystore = tmp_path / "k.json"
        run([binary("venice-agent"), "key", "import", "--keystore", keystore, "--password-file", pw, "--scrypt-n", 1024], stdin=key.encode())
        sock = tmp_path / "d.sock"
        script = (f'eval "$({binary("venice-agent")} serve --keystore {keystore} --password-file {pw} --socket {sock} '
                  f'--upstream {upstream}/api/v1 --state-dir {tmp_path / "state"} --daemonize --print-env)" && '
                  'echo "$VENICE_AGENT_SOCK $VENICE_AGENT_PID"')
        out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=60, check=True).stdout.decode().split()
        assert out[-2] == str(sock)
        pid = int(out[-1])
        try:
            with client(sock) as c:
                assert c.get("/agent/v1/status").json()["address"] == address
            assert os.getsid(pid) == pid  # its own session: not killed with the terminal
        finally:
            os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not sock.exists():
                break
            time.sleep(0.1)
        assert not sock.exists()
