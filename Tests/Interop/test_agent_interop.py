"""The agent as a real process: Python clients over its socket, signals, shutdown (issue 5)."""
import base64
import json
import shutil
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


# Text through the agent: the OpenAI SDK over the socket, the simulator's text routes upstream.
# claude-opus-4-5 costs $6 / $30 per 1M input / output tokens in the simulator's catalog.
TEXT_MODEL = "claude-opus-4-5"


def sdk_over(sock) -> openai.OpenAI:
    return openai.OpenAI(api_key="unused-local", base_url="http://agent/api/v1",
                         http_client=httpx.Client(transport=httpx.HTTPTransport(uds=str(sock)), timeout=60))


def wallet_balance(sock) -> float:
    """The wallet's x402 credit as the simulator reports it, read through the agent."""
    with client(sock) as c:
        answer = c.get("/api/v1/x402/balance/me")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["balanceUsd"]


def charged(before: float, after: float, input_tokens: int, output_tokens: int) -> bool:
    """The drop in credit is the usage-based price (to the micro-dollar)."""
    expected = (input_tokens * 6 + output_tokens * 30) / 1_000_000
    return abs((before - after) - expected) < 2e-6


def test_openai_sdk_chat_completion_through_the_agent_is_charged_by_usage():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, _, _):
        before = wallet_balance(sock)
        answer = sdk_over(sock).chat.completions.create(
            model=TEXT_MODEL, messages=[{"role": "user", "content": "Why is the sky blue?"}])
        assert answer.id.startswith("chatcmpl-")
        assert answer.choices[0].message.role == "assistant"
        assert answer.choices[0].message.content
        assert answer.choices[0].finish_reason == "stop"
        usage = answer.usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
        assert charged(before, wallet_balance(sock), usage.prompt_tokens, usage.completion_tokens)


def test_openai_sdk_streams_chat_deltas_through_the_agent_with_usage_on_the_last_chunk():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, _, _):
        sdk = sdk_over(sock)
        messages = [{"role": "user", "content": "Tell me about owls"}]
        plain = sdk.chat.completions.create(model=TEXT_MODEL, messages=messages)
        before = wallet_balance(sock)
        chunks = list(sdk.chat.completions.create(model=TEXT_MODEL, messages=messages, stream=True,
                                                  stream_options={"include_usage": True}))
        assert len(chunks) >= 3
        assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == plain.choices[0].message.content
        assert chunks[-1].choices[0].finish_reason == "stop"
        usage = chunks[-1].usage
        assert usage is not None and all(c.usage is None for c in chunks[:-1])
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert charged(before, wallet_balance(sock), usage.prompt_tokens, usage.completion_tokens)
        # The agent's reconciliation attributes both CHARGE rows (the streamed one found by its chatcmpl id in the
        # first SSE chunk): its spend total reaches what the wallet lost.
        spent = 20 - wallet_balance(sock)
        deadline = time.monotonic() + 60
        while abs(agent_charged_total(sock) - spent) > 1e-6 and time.monotonic() < deadline:  # the estimate held, then the charge
            time.sleep(0.2)
        assert abs(agent_charged_total(sock) - spent) < 1e-6


def test_a_streamed_chat_is_counted_at_its_usage_cost_as_soon_as_it_ends_not_at_its_estimate():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, _, _):
        # 4,000 tokens out at $30 / 1M bound the estimate above $0.12; the answer is a few hundred tokens.
        chunks = list(sdk_over(sock).chat.completions.create(
            model=TEXT_MODEL, messages=[{"role": "user", "content": "Tell me about owls"}], max_tokens=4000, stream=True,
            stream_options={"include_usage": True}))
        usage = chunks[-1].usage
        assert usage is not None
        cost = (usage.prompt_tokens * 6 + usage.completion_tokens * 30) / 1_000_000
        assert cost < 0.05
        # Straight away, reconciled or not: the row holds the usage cost (to the micro-dollar).
        with client(sock) as c:
            spend = c.get("/agent/v1/spend").json()
        assert abs(spend["total_estimate_usd"] - cost) < 2e-6, spend
        assert abs(spend["total_charged_usd"] - cost) < 2e-6, spend


def agent_charged_total(sock) -> float:
    with client(sock) as c:
        answer = c.get("/agent/v1/spend")
    assert answer.status_code == 200, answer.text
    return answer.json()["total_charged_usd"]


def test_openai_sdk_embeddings_through_the_agent_in_float_and_base64():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, _, _):
        sdk = sdk_over(sock)
        before = wallet_balance(sock)
        floats = sdk.embeddings.create(model="text-embedding-bge-m3", input=["hello world", "bye"], dimensions=8,
                                       encoding_format="float")
        assert [d.index for d in floats.data] == [0, 1]
        assert all(len(d.embedding) == 8 for d in floats.data)
        assert abs(sum(x * x for x in floats.data[0].embedding) - 1) < 1e-4
        assert floats.usage.prompt_tokens == floats.usage.total_tokens > 0
        # The SDK asks for base64 by default and decodes it to floats itself.
        decoded = sdk.embeddings.create(model="text-embedding-bge-m3", input="hello world", dimensions=8)
        assert [round(x, 6) for x in decoded.data[0].embedding] == [round(x, 6) for x in floats.data[0].embedding]
        assert wallet_balance(sock) < before


def test_openai_sdk_responses_through_the_agent_is_charged_by_usage():
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key) as (sock, _, _):
        before = wallet_balance(sock)
        answer = sdk_over(sock).responses.create(model=TEXT_MODEL, instructions="Be kind.", input="Tell me a story",
                                                 max_output_tokens=16)
        assert answer.id.startswith("resp_")
        assert answer.status == "completed"
        assert answer.output_text
        usage = answer.usage
        assert usage.output_tokens <= 16
        assert usage.total_tokens == usage.input_tokens + usage.output_tokens
        assert charged(before, wallet_balance(sock), usage.input_tokens, usage.output_tokens)
        # Streamed: the SDK reads the events; their text is the same answer, and the completed
        # response carries the usage the wallet was charged.
        before = wallet_balance(sock)
        events = list(sdk_over(sock).responses.create(model=TEXT_MODEL, instructions="Be kind.", input="Tell me a story",
                                                      max_output_tokens=16, stream=True))
        assert events[0].type == "response.created" and events[-1].type == "response.completed"
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        completed = events[-1].response
        assert text == completed.output_text == answer.output_text
        assert charged(before, wallet_balance(sock), completed.usage.input_tokens, completed.usage.output_tokens)


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
                  f'--upstream {upstream}/api/v1 --state-dir {tmp_path / "state"} --listen 127.0.0.1:0 --daemonize --print-env)" && '
                  'echo "$VENICE_AGENT_SOCK $VENICE_AGENT_PID $VENICE_AGENT_URL"')
        out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=60, check=True).stdout.decode().split()
        assert out[-3] == str(sock)
        pid = int(out[-2])
        # The detached agent's listener port (the kernel's pick) reaches the shell too.
        assert out[-1].startswith("http://127.0.0.1:") and int(out[-1].rsplit(":", 1)[1]) > 0, out
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


# --------------------------------------------------------------------------------------------
# The loopback TCP listener (issue 13): OpenAI-compatible apps with a client token, no socket.
# --------------------------------------------------------------------------------------------

def test_openai_sdks_over_plain_tcp_with_the_lines_clients_add_prints():
    import subprocess
    from conftest import binary
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream, agent(upstream, key, "--listen", "127.0.0.1:0") as (sock, proc, _):
        url_line = proc.stdout.readline().decode()
        assert url_line.startswith("VENICE_AGENT_URL=http://127.0.0.1:"), url_line
        url = url_line.split("=", 1)[1].split(";", 1)[0]
        with client(sock) as c:
            assert c.get("/agent/v1/status").json()["listen"] == url.removeprefix("http://")
        added = subprocess.run([str(binary("venice-agent")), "clients", "add", "app", "--routes", "text,image,audio"],
                               env={**os.environ, "VENICE_AGENT_SOCK": str(sock)}, capture_output=True, timeout=60)
        assert added.returncode == 0, added.stderr
        lines = dict(line.split("=", 1) for line in added.stdout.decode().splitlines() if line.startswith("OPENAI_"))
        assert lines["OPENAI_BASE_URL"] == url + "/api/v1"
        assert lines["OPENAI_API_KEY"].startswith("vat_")

        # The OpenAI Python SDK, configured only with the two lines: plain TCP, no custom transport.
        sdk = openai.OpenAI(api_key=lines["OPENAI_API_KEY"], base_url=lines["OPENAI_BASE_URL"], timeout=60)
        answer = sdk.chat.completions.create(model=TEXT_MODEL, messages=[{"role": "user", "content": "hello"}])
        assert answer.choices[0].message.content
        chunks = list(sdk.chat.completions.create(model=TEXT_MODEL, messages=[{"role": "user", "content": "hello"}],
                                                  stream=True, stream_options={"include_usage": True}))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
        assert chunks[-1].usage.total_tokens > 0
        assert len(sdk.embeddings.create(model="text-embedding-bge-m3", input="hello", dimensions=8).data[0].embedding) == 8
        image = sdk.images.generate(model="z-image-turbo", prompt="a fox", size="256x256", response_format="b64_json")
        assert base64.b64decode(image.data[0].b64_json).startswith(b"\x89PNG")
        speech = sdk.audio.speech.create(model="tts-kokoro", voice="af_sky", input="Hello there.", response_format="wav")
        assert speech.content[:4] == b"RIFF"

        # Node's fetch, plain TCP, the same two values.
        script = ("fetch(process.env.OPENAI_BASE_URL + '/chat/completions', {method: 'POST', headers: {"
                  "'Authorization': 'Bearer ' + process.env.OPENAI_API_KEY, 'Content-Type': 'application/json'}, "
                  f"body: JSON.stringify({{model: '{TEXT_MODEL}', messages: [{{role: 'user', content: 'hi'}}]}})}})"
                  ".then(r => r.json().then(j => console.log(r.status, j.choices[0].message.role)))"
                  ".catch(e => { console.error(e); process.exit(1) })")
        node = subprocess.run(["node", "-e", script], env={**os.environ, **lines}, capture_output=True, timeout=60)
        assert node.returncode == 0, node.stderr
        assert node.stdout.decode().split() == ["200", "assistant"]

        # A key that is not a client token: the SDK raises its authentication error with the agent's code.
        stranger = openai.OpenAI(api_key="sk-not-a-client-token", base_url=lines["OPENAI_BASE_URL"], timeout=60, max_retries=0)
        try:
            stranger.models.list()
            raise AssertionError("served with a foreign key")
        except openai.AuthenticationError as error:
            assert error.status_code == 401 and error.body["code"].startswith("AGENT_"), error.body
        with httpx.Client(base_url=url, timeout=30) as tcp:
            anonymous = tcp.get("/api/v1/models")
            assert anonymous.status_code == 401, anonymous.text
            assert anonymous.json()["error"]["code"] == "AGENT_TOKEN_REQUIRED" and anonymous.json()["error"]["type"] == "authentication_error"
            bearer = {"Authorization": "Bearer " + lines["OPENAI_API_KEY"]}
            wrong_host = tcp.get("/api/v1/models", headers={**bearer, "Host": "rebind.example:80"})
            assert wrong_host.status_code == 403 and wrong_host.json()["error"]["code"] == "AGENT_HOST_REFUSED"
            page = tcp.get("/api/v1/models", headers={**bearer, "Origin": "https://evil.example"})
            assert page.status_code == 403 and "access-control-allow-origin" not in page.headers
            for method, path in [("POST", "/agent/v1/lock"), ("GET", "/agent/v1/clients"), ("POST", "/agent/v1/topup"), ("GET", "/metrics")]:
                refused = tcp.request(method, path, headers=bearer, json={"usd": 5} if method == "POST" else None)
                assert refused.status_code == 403 and refused.json()["error"]["code"] == "AGENT_SOCKET_ONLY", (method, path)
        # Raw requests, sent exactly as written: doubled slashes, an absolute-form target naming
        # another host, a second Host header.
        import http.client
        port = int(url.rsplit(":", 1)[1])
        raw_cases = [("//metrics", {}, "AGENT_SOCKET_ONLY"), ("///agent/v1/clients", {}, "AGENT_SOCKET_ONLY"),
                     ("http://evil.example/agent/v1/status", {}, "AGENT_HOST_REFUSED")]
        for target, extra, code in raw_cases:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", f"127.0.0.1:{port}")
            conn.putheader("Authorization", "Bearer " + lines["OPENAI_API_KEY"])
            conn.endheaders()
            answer = conn.getresponse()
            assert answer.status == 403 and json.loads(answer.read())["error"]["code"] == code, (target, answer.status)
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest("GET", "/api/v1/models", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{port}")
        conn.putheader("Host", "evil.example")
        conn.putheader("Authorization", "Bearer " + lines["OPENAI_API_KEY"])
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status in (400, 403), answer.status
        conn.close()
        # Another user of the machine, even holding a valid token, is not served over TCP.
        if os.getuid() == 0 and shutil.which("setpriv"):
            probe = ("import urllib.request, urllib.error, sys\n"
                     "req = urllib.request.Request(sys.argv[1], headers={'Authorization': 'Bearer ' + sys.argv[2]})\n"
                     "try:\n    print(urllib.request.urlopen(req, timeout=30).status)\n"
                     "except urllib.error.HTTPError as e:\n    print(e.code, e.read().decode())\n")
            other = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", probe,
                                    url + "/api/v1/models", lines["OPENAI_API_KEY"]], capture_output=True, timeout=60)
            assert other.stdout.decode().startswith("403") and "AGENT_PEER_REFUSED" in other.stdout.decode(), other
        with client(sock) as c:
            assert c.get("/agent/v1/status").json()["locked"] is False
        # The request log names the client a token request resolved to (forensics), never the token.
        log = (sock.parent.parent / "agent.log").read_text()
        assert "client=app " in log and lines["OPENAI_API_KEY"] not in log


def test_socket_activation_serves_the_sockets_systemd_passes_and_leaves_them_in_place(tmp_path):
    """Started the way systemd starts a socket-activated service: descriptors 3 and 4 already
    bound and listening, LISTEN_PID/LISTEN_FDS set; the agent binds nothing itself."""
    import socket as sockets
    import subprocess
    from conftest import binary, run
    key, address = funded_key()
    with simulator("--fund", f"{address}=20") as upstream:
        pw = tmp_path / "pw"
        pw.write_text("pw\n")
        keystore = tmp_path / "k.json"
        run([binary("venice-agent"), "key", "import", "--keystore", keystore, "--password-file", pw, "--scrypt-n", 1024], stdin=key.encode())
        folder = tmp_path / "run"
        folder.mkdir(mode=0o700)
        path = folder / "agent.sock"
        unix = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
        unix.bind(str(path))
        unix.listen(16)
        # SocketMode=0666 (systemd's default) is refused unless other uids are allowed.
        os.chmod(path, 0o666)
        loose = subprocess.run(["bash", "-c", f'exec 20<&{unix.fileno()}; exec 3<&20 20<&-; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"',
                                str(binary("venice-agent")), "serve", "--keystore", str(keystore), "--password-file", str(pw),
                                "--upstream", upstream + "/api/v1", "--state-dir", str(tmp_path / "state0")],
                               pass_fds=(unix.fileno(),), capture_output=True, timeout=60)
        assert loose.returncode != 0 and b"SocketMode=0600" in loose.stderr, loose.stderr
        os.chmod(path, 0o600)
        tcp = sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(16)
        port = tcp.getsockname()[1]
        a, b = unix.fileno(), tcp.fileno()
        script = (f'exec 20<&{a} 21<&{b}; exec 3<&20 4<&21 20<&- 21<&-; '
                  'LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=unix:tcp exec "$0" "$@"')
        proc = subprocess.Popen(["bash", "-c", script, str(binary("venice-agent")), "serve", "--keystore", str(keystore),
                                 "--password-file", str(pw), "--upstream", upstream + "/api/v1", "--state-dir", str(tmp_path / "state"),
                                 "--print-env"], pass_fds=(a, b), stdout=subprocess.PIPE, stderr=open(tmp_path / "agent.log", "wb"))
        unix.close()
        tcp.close()
        try:
            assert proc.stdout.readline().decode().startswith(f"VENICE_AGENT_SOCK={path};")
            assert proc.stdout.readline().decode().startswith(f"VENICE_AGENT_URL=http://127.0.0.1:{port};")
            with client(path) as c:
                status = c.get("/agent/v1/status").json()
                assert status["address"] == address and status["listen"] == f"127.0.0.1:{port}"
                token = c.post("/agent/v1/clients", json={"name": "app", "routes": ["image"]}).json()["token"]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as tcp_client:
                answer = tcp_client.post("/api/v1/image/generate", json=IMAGE, headers={"Authorization": "Bearer " + token})
                assert answer.status_code == 200, answer.text
                assert tcp_client.get("/api/v1/models").status_code == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        # The socket is systemd's: the agent neither replaced nor removed it.
        assert path.exists()
