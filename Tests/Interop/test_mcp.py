"""`venice-agent mcp` driven by the `mcp` Python SDK as the agent host: a real agent in front of venice-sim,
the MCP server over stdio as a named token client. One agent for the whole module."""
import asyncio
import base64
import json
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import httpx
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agent_processes import agent, client, simulator
from cli_support import cli, new_key, ok, png_size, wav_seconds
from conftest import binary


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(socket, address, key hex, host token, tiny token, stderr log folder, loopback listener URL)."""
    key, address = new_key()
    logs = tmp_path_factory.mktemp("mcp-stderr")
    with simulator("--fund", f"{address}=20") as upstream, \
            agent(upstream, key, "--listen", "127.0.0.1:0") as (sock, proc, _):
        url_line = proc.stdout.readline().decode()
        assert url_line.startswith("VENICE_AGENT_URL=http://127.0.0.1:"), url_line
        url = url_line.split("=", 1)[1].split(";", 1)[0]
        host = json.loads(ok(cli("clients", "add", "mcp-host", "--routes", "text,image,audio,wallet", "--json", sock=sock)))["token"]
        tiny = json.loads(ok(cli("clients", "add", "mcp-tiny", "--routes", "image", "--daily-usd", "0.015", "--json", sock=sock)))["token"]
        yield sock, address, key, host, tiny, logs, url


@asynccontextmanager
async def session(sock, token, log: Path, *extra):
    """An initialized MCP session with `venice-agent mcp` (stderr appended to `log`)."""
    env = {"VENICE_AGENT_TOKEN": token} if token else {}
    params = StdioServerParameters(command=str(binary("venice-agent")), args=["mcp", "--socket", str(sock), *extra], env=env)
    with open(log, "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s


def call(world, tool, arguments=None, token="host"):
    sock, _, _, host, tiny, logs = world[:6]
    chosen = {"host": host, "tiny": tiny, None: None}[token]

    async def go():
        async with session(sock, chosen, logs / "stderr.log") as s:
            return await s.call_tool(tool, arguments or {})
    return asyncio.run(go())


def text(result) -> str:
    return "\n".join(part.text for part in result.content if part.type == "text")


def test_the_host_lists_the_tools_and_resources(world):
    sock, _, _, host, _, logs = world[:6]

    async def go():
        async with session(sock, host, logs / "stderr.log") as s:
            tools = {t.name for t in (await s.list_tools()).tools}
            resources = {str(r.uri) for r in (await s.list_resources()).resources}
            styles = await s.read_resource("venice://styles")
            return tools, resources, styles
    tools, resources, styles = asyncio.run(go())
    assert {"chat", "responses", "embeddings", "image_generate", "image_styles", "speech", "transcription", "models_list",
            "balance", "transactions", "spend", "budget_left", "request_topup",
            "image_edit", "image_upscale", "image_background_remove", "voice_clone"} <= tools
    assert {"venice://models", "venice://styles", "venice://voices"} <= resources
    assert "Anime" in json.loads(styles.contents[0].text)


def test_image_generation_returns_a_png_of_the_asked_size(world):
    result = call(world, "image_generate", {"prompt": "a red fox", "width": 256, "height": 128, "format": "png"})
    assert not result.is_error, text(result)
    images = [part for part in result.content if part.type == "image"]
    assert len(images) == 1 and images[0].mime_type == "image/png"
    assert png_size(base64.b64decode(images[0].data)) == (256, 128)


def test_speech_returns_a_valid_audio_file(world):
    result = call(world, "speech", {"input": "Hello from an agent host.", "response_format": "wav"})
    assert not result.is_error, text(result)
    resource = next(part.resource for part in result.content if part.type == "resource")
    assert resource.mime_type == "audio/wav"
    assert wav_seconds(base64.b64decode(resource.blob)) > 0


def test_saved_speech_is_transcribed_from_its_path(world, tmp_path):
    spoken = call(world, "speech", {"input": "The quick brown fox.", "response_format": "wav", "save_to": str(tmp_path)})
    assert not spoken.is_error, text(spoken)
    saved = text(spoken).removeprefix("saved: ").strip()
    assert saved.startswith(str(tmp_path)) and Path(saved).read_bytes()[:4] == b"RIFF"
    heard = call(world, "transcription", {"file_path": saved})
    assert not heard.is_error and text(heard).strip(), text(heard)


def test_models_and_voices_are_listed(world):
    models = call(world, "models_list", {"type": "image"})
    assert not models.is_error and "z-image-turbo" in text(models)
    voices = call(world, "voices", {"model": "tts-kokoro"})
    assert not voices.is_error and text(voices).startswith("tts-kokoro: ")


def test_chat_answers_with_text(world):
    result = call(world, "chat", {"prompt": "Say hello.", "max_completion_tokens": 20})
    assert not result.is_error, text(result)
    assert text(result).strip()


def test_balance_names_the_agents_wallet(world):
    _, address, _, _, _, _ = world[:6]
    result = call(world, "balance")
    assert not result.is_error, text(result)
    assert address.lower() in text(result).lower() and "balance: $" in text(result)


def test_a_client_over_its_daily_budget_gets_a_tool_error_naming_the_limit(world):
    first = call(world, "image_generate", {"prompt": "one", "width": 64, "height": 64}, token="tiny")
    assert not first.is_error, text(first)
    second = call(world, "image_generate", {"prompt": "two", "width": 64, "height": 64}, token="tiny")
    assert second.is_error
    assert "daily_usd" in text(second) and "AGENT_BUDGET_EXCEEDED" in text(second)
    left = call(world, "budget_left", token="tiny")
    assert not left.is_error and "mcp-tiny" in text(left) and "left of $0.0150" in text(left)


def test_wallet_tools_of_a_client_without_the_wallet_group_are_refused_as_tool_errors(world):
    result = call(world, "balance", token="tiny")
    assert result.is_error and "wallet" in text(result).lower()


def test_request_topup_never_pays_and_names_the_owners_command(world):
    before = call(world, "balance")
    result = call(world, "request_topup", {"amount_usd": 10, "reason": "credit is low"})
    assert not result.is_error and "`venice-agent topup 10`" in text(result) and "Nothing was paid" in text(result)
    assert text(call(world, "balance")).split("\n")[:2] == text(before).split("\n")[:2]


def test_request_topup_of_a_client_the_owner_allowed_pays_within_the_agents_caps(world):
    sock, logs = world[0], world[5]
    payer = json.loads(ok(cli("clients", "add", "mcp-payer", "--routes", "wallet", "--may-topup", "--json", sock=sock)))
    assert payer["may_topup"] is True

    async def go():
        async with session(sock, payer["token"], logs / "stderr.log") as s:
            before = await s.call_tool("balance", {})
            paid = await s.call_tool("request_topup", {"amount_usd": 5})
            after = await s.call_tool("balance", {})
            too_much = await s.call_tool("request_topup", {"amount_usd": 5000})
            return before, paid, after, too_much
    before, paid, after, too_much = asyncio.run(go())
    assert not paid.is_error and "Topped up: $5.00" in text(paid), text(paid)
    usd = lambda r: float(text(r).split("balance: $", 1)[1].split()[0])
    assert usd(after) == pytest.approx(usd(before) + 5, abs=1e-6)
    # The agent's per-top-up cap still holds for it.
    assert too_much.is_error and "cap" in text(too_much).lower(), text(too_much)
    audit = ok(cli("audit", "--limit", "20", sock=sock))
    assert "client_topup" in audit and "mcp-payer asked for 5.00 USD" in audit, audit


def test_a_music_job_is_quoted_queued_followed_and_completed(world):
    sock, _, _, host, _, logs = world[:6]

    async def go():
        async with session(sock, host, logs / "stderr.log") as s:
            quote = await s.call_tool("music_quote", {"model": "ace-step-15", "duration_seconds": 60})
            queued = await s.call_tool("music_queue", {"model": "ace-step-15", "prompt": "calm ambient piano with rain", "duration_seconds": 60})
            assert not queued.is_error, text(queued)
            queue_id = queued.structured_content["queue_id"]
            for _ in range(60):
                status = await s.call_tool("music_status", {"model": "ace-step-15", "queue_id": queue_id})
                if any(part.type == "resource" for part in status.content):
                    break
                await asyncio.sleep(0.5)
            completed = await s.call_tool("music_complete", {"model": "ace-step-15", "queue_id": queue_id})
            return quote, queued, status, completed
    quote, queued, status, completed = asyncio.run(go())
    assert not quote.is_error and text(quote).startswith("quote: $"), text(quote)
    assert not queued.is_error, text(queued)
    audio = next(part.resource for part in status.content if part.type == "resource")
    assert audio.mime_type.startswith("audio/") and len(base64.b64decode(audio.blob)) > 1000
    assert not completed.is_error, text(completed)


def venice_charges(world, model):
    """Venice's CHARGE rows for `model` on the agent's wallet (its x402 ledger), newest first."""
    rows = json.loads(ok(cli("transactions", "--json", "--limit", "100", sock=world[0])))["data"]["transactions"]
    return [t for t in rows if t["type"] == "CHARGE" and t.get("modelId") == model]


def test_an_image_is_edited_upscaled_and_freed_of_its_background_each_charged_to_the_wallet(world):
    made = call(world, "image_generate", {"prompt": "a lighthouse", "width": 256, "height": 256, "format": "png"})
    assert not made.is_error, text(made)
    source = next(part.data for part in made.content if part.type == "image")
    edits_before = len(venice_charges(world, "firered-image-edit"))
    edited = call(world, "image_edit", {"prompt": "paint the sky orange", "image_base64": source})
    assert not edited.is_error, text(edited)
    edited_png = base64.b64decode(next(part.data for part in edited.content if part.type == "image"))
    assert png_size(edited_png) == (256, 256)
    upscaled = call(world, "image_upscale", {"image_base64": base64.b64encode(edited_png).decode(), "scale": 2})
    assert not upscaled.is_error, text(upscaled)
    assert png_size(base64.b64decode(next(part.data for part in upscaled.content if part.type == "image"))) == (512, 512)
    cut = call(world, "image_background_remove", {"image_base64": source})
    assert not cut.is_error, text(cut)
    assert png_size(base64.b64decode(next(part.data for part in cut.content if part.type == "image"))) == (256, 256)
    assert len(venice_charges(world, "firered-image-edit")) == edits_before + 1
    assert venice_charges(world, "upscaler")[0]["amount"] == pytest.approx(-0.02)
    assert venice_charges(world, "bria-bg-remover")[0]["amount"] == pytest.approx(-0.03)


def test_an_upscale_priced_over_a_clients_daily_budget_is_refused_before_venice(world):
    """The agent prices an upscale (`upscaler` 2x, $0.02) and refuses the $0.015-a-day client up front."""
    made = call(world, "image_generate", {"prompt": "a pebble", "width": 256, "height": 256, "format": "png"})
    source = next(part.data for part in made.content if part.type == "image")
    before = len(venice_charges(world, "upscaler"))
    refused = call(world, "image_upscale", {"image_base64": source}, token="tiny")
    assert refused.is_error and "AGENT_BUDGET_EXCEEDED" in text(refused), text(refused)
    assert len(venice_charges(world, "upscaler")) == before


def test_a_voice_is_cloned_from_a_spoken_sample_and_its_handle_returned(world):
    spoken = call(world, "speech", {"input": "This is a clear sample of my speaking voice for cloning.", "response_format": "wav"})
    sample = next(part.resource for part in spoken.content if part.type == "resource").blob
    cloned = call(world, "voice_clone", {"audio_base64": sample, "file_name": "sample.wav"})
    assert not cloned.is_error, text(cloned)
    assert cloned.structured_content["id"].startswith("vv_")
    assert cloned.structured_content["model"] == "tts-chatterbox-hd"
    assert venice_charges(world, "tts-chatterbox-hd"), "the clone left no charge on the wallet's ledger"
    handle = cloned.structured_content["id"]
    spoken = call(world, "speech", {"input": "Now in the cloned voice.", "model": "tts-chatterbox-hd", "voice": handle})
    assert not spoken.is_error, text(spoken)
    audio = next(part.resource for part in spoken.content if part.type == "resource")
    assert wav_seconds(base64.b64decode(audio.blob)) > 0


def test_over_http_image_path_is_refused(world, tmp_path):
    url, host = world[6], world[3]
    secret = tmp_path / "private.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "image_upscale", "arguments": {"image_path": str(secret)}}}
    answer = httpx.post(url + "/mcp", json=body, timeout=60,
                        headers={**MCP_HEADERS, "Authorization": f"Bearer {host}", "MCP-Protocol-Version": "2025-06-18"})
    result = answer.json()["result"]
    assert result["isError"] and "image_base64" in result["content"][0]["text"], result


def test_no_agent_at_the_socket_is_a_tool_error_saying_how_to_start_one(world, tmp_path):
    _, _, _, _, _, logs = world[:6]

    async def go():
        async with session(tmp_path / "missing.sock", None, logs / "stderr.log") as s:
            return await s.call_tool("balance", {})
    result = asyncio.run(go())
    assert result.is_error and "no agent is listening" in text(result) and "venice-agent serve" in text(result)


def test_malformed_requests_get_protocol_errors_and_the_server_keeps_serving(world):
    sock, _, _, host, _, logs = world[:6]
    proc = subprocess.Popen([str(binary("venice-agent")), "mcp", "--socket", str(sock)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=open(logs / "stderr.log", "a"), env={"VENICE_AGENT_TOKEN": host, "PATH": "/usr/bin:/bin"})

    def exchange(line: str):
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())
    try:
        init = exchange(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))
        assert init["result"]["serverInfo"]["name"] == "venice-agent"
        proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        assert exchange("{this is not json")["error"]["code"] == -32700
        unknown = exchange(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "rm_rf", "arguments": {}}}))
        assert unknown["error"]["code"] == -32602 and "rm_rf" in unknown["error"]["message"]
        listed = exchange(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}))
        assert any(t["name"] == "chat" for t in listed["result"]["tools"])
        # An id JSON-RPC does not allow is answered (with id null), not left hanging.
        bad_id = exchange(json.dumps({"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}))
        assert bad_id["error"]["code"] == -32600 and bad_id["id"] is None
        # A long line (4 MB of base64: not audio) is read whole and answered, and the server goes on.
        long_call = exchange(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
            "name": "transcription", "arguments": {"audio_base64": "A" * (4 << 20), "file_name": "x.wav"}}}))
        assert long_call["id"] == 5 and "result" in long_call
        # A line past the limit is dropped with an error, not held.
        proc.stdin.write(b'{"x":"' + b"A" * (41 << 20) + b'"}\n')
        proc.stdin.flush()
        too_long = json.loads(proc.stdout.readline())
        assert too_long["error"]["code"] == -32600 and "MiB" in too_long["error"]["message"]
        assert exchange(json.dumps({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}))["id"] == 6
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)


def test_file_path_reads_only_an_audio_file_itself(world, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n")
    (tmp_path / "pw.wav").symlink_to(secret)
    (tmp_path / "text.wav").write_text("password=hunter2\n")
    for path, reason in ((tmp_path / "pw.wav", "symbolic link"), (tmp_path / "text.wav", "not an audio"),
                         (str(tmp_path / "text.wav") + "\u0000.wav", "NUL")):
        result = call(world, "transcription", {"file_path": str(path)})
        assert result.is_error and reason in text(result), (path, text(result))


def test_print_config_blocks_name_this_binary_and_the_socket(world):
    sock, _, _, host, _, _ = world[:6]
    claude = json.loads(ok(cli("mcp", "--print-config", "claude", sock=sock)))
    server = claude["mcpServers"]["venice"]
    assert server["command"] == str(binary("venice-agent").resolve())
    assert server["args"] == ["mcp", "--socket", str(sock)] and "env" not in server
    codex = ok(cli("mcp", "--print-config", "codex", "--token", host, sock=sock))
    assert codex.startswith("[mcp_servers.venice]\n") and f'VENICE_AGENT_TOKEN = "{host}"' in codex


# --- video jobs and augment (web search, scrape, text parser) ---

@pytest.fixture(scope="module")
def aug_token(world):
    """A client of the module's agent with the video and augment route groups and no limits."""
    return json.loads(ok(cli("clients", "add", "mcp-aug", "--routes", "video,augment", "--json", sock=world[0])))["token"]


def run_tools(world, token, calls):
    """Runs `calls(session)` in one stdio session as `token`'s client."""
    sock, logs = world[0], world[5]

    async def go():
        async with session(sock, token, logs / "stderr.log") as s:
            return await calls(s)
    return asyncio.run(go())


def spend_by_route(sock, routes, at_least):
    """`spend --by route --json` rows for `routes` once the agent has recorded `at_least` USD on each."""
    import time
    deadline = time.monotonic() + 15
    while True:
        rows = {r["key"]: r["charged_usd"] for r in json.loads(ok(cli("spend", "--by", "route", "--json", sock=sock)))["rows"]}
        if all(rows.get("/api/v1" + route, 0) >= at_least - 1e-9 for route in routes) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def test_web_search_scrape_and_text_parser_answer_and_are_charged_a_cent_each(world, aug_token, tmp_path):
    document = tmp_path / "notes.txt"
    document.write_text("Venice has 118 islands.")

    async def calls(s):
        search = await s.call_tool("web_search", {"query": "canals of Venice", "limit": 3})
        scrape = await s.call_tool("web_scrape", {"url": "https://example.com/venice"})
        inline = await s.call_tool("text_parser", {"document_base64": base64.b64encode(b"Hello, Venice.").decode(), "file_name": "a.md",
                                                   "response_format": "text"})
        local = await s.call_tool("text_parser", {"file_path": str(document)})
        blocked = await s.call_tool("web_scrape", {"url": "https://x.com/venice"})
        return search, scrape, inline, local, blocked
    search, scrape, inline, local, blocked = run_tools(world, aug_token, calls)
    assert not search.is_error, text(search)
    assert len(search.structured_content["results"]) == 3
    assert all(r["url"] and r["title"] and r["date"] for r in search.structured_content["results"])
    assert not scrape.is_error and "https://example.com/venice" in text(scrape), text(scrape)
    assert not inline.is_error and text(inline) == "Hello, Venice.", text(inline)
    assert not local.is_error and local.structured_content["text"] == "Venice has 118 islands.", text(local)
    assert local.structured_content["tokens"] > 0
    assert blocked.is_error and "x.com" in text(blocked), text(blocked)
    rows = spend_by_route(world[0], ["/augment/search", "/augment/scrape", "/augment/text-parser"], 0.01)
    assert rows.get("/api/v1/augment/search") == pytest.approx(0.01, abs=1e-6), rows
    assert rows.get("/api/v1/augment/scrape") == pytest.approx(0.01, abs=1e-6), rows
    assert rows.get("/api/v1/augment/text-parser") == pytest.approx(0.02, abs=1e-6), rows


def test_a_client_with_a_daily_limit_may_search_until_its_budget_is_spent(world):
    """Web search is priced at Venice's documented $0.01, so a limited client may use it (not AGENT_PRICE_UNKNOWN)."""
    capped = json.loads(ok(cli("clients", "add", "mcp-searcher", "--routes", "augment", "--daily-usd", "0.015", "--json", sock=world[0])))["token"]

    async def calls(s):
        return [await s.call_tool("web_search", {"query": f"bridges {n}", "limit": 1}) for n in (1, 2)]
    first, second = run_tools(world, capped, calls)
    assert not first.is_error, text(first)
    assert second.is_error and "AGENT_BUDGET_EXCEEDED" in text(second) and "daily_usd" in text(second), text(second)


def test_a_video_job_is_quoted_queued_followed_to_an_mp4_and_completed(world, aug_token):
    model = "wan-2-7-text-to-video"

    async def calls(s):
        quote = await s.call_tool("video_quote", {"model": model, "duration": "5s", "resolution": "720p"})
        queued = await s.call_tool("video_queue", {"model": model, "prompt": "gondolas at dusk", "duration": "5s", "resolution": "720p"})
        assert not queued.is_error, text(queued)
        queue_id = queued.structured_content["queue_id"]
        first = await s.call_tool("video_status", {"model": model, "queue_id": queue_id})
        status = first
        for _ in range(60):
            if any(part.type == "resource" for part in status.content):
                break
            await asyncio.sleep(0.5)
            status = await s.call_tool("video_status", {"model": model, "queue_id": queue_id})
        completed = await s.call_tool("video_complete", {"model": model, "queue_id": queue_id})
        gone = await s.call_tool("video_status", {"model": model, "queue_id": queue_id})
        return quote, first, status, completed, gone
    quote, first, status, completed, gone = run_tools(world, aug_token, calls)
    assert not quote.is_error and text(quote).startswith("quote: $0.55"), text(quote)
    assert not first.is_error and "PROCESSING" in text(first), text(first)
    video = next(part.resource for part in status.content if part.type == "resource")
    data = base64.b64decode(video.blob)
    assert video.mime_type == "video/mp4" and data[4:8] == b"ftyp" and b"moov" in data
    assert not completed.is_error, text(completed)
    assert gone.is_error and "not found" in text(gone).lower(), text(gone)
    rows = spend_by_route(world[0], ["/video/queue"], 0.55)
    assert rows.get("/api/v1/video/queue") == pytest.approx(0.55, abs=1e-6), rows


def test_over_http_image_path_and_file_path_are_refused_unread(world, aug_token, tmp_path):
    url = world[6]
    image, document = tmp_path / "a.png", tmp_path / "a.txt"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    document.write_text("private")

    def tool(name, arguments):
        body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        answer = httpx.post(url + "/mcp", json=body, timeout=60,
                            headers={**MCP_HEADERS, "Authorization": f"Bearer {aug_token}", "MCP-Protocol-Version": "2025-06-18"})
        return answer.json()["result"]
    video = tool("video_queue", {"model": "wan-2-7-image-to-video", "prompt": "p", "duration": "5s", "image_path": str(image)})
    assert video["isError"] and "image_base64" in video["content"][0]["text"], video
    parsed = tool("text_parser", {"file_path": str(document)})
    assert parsed["isError"] and "document_base64" in parsed["content"][0]["text"], parsed


# --- Streamable HTTP at /mcp on the loopback listener ---

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_the_http_endpoint_refuses_a_request_without_a_token(world):
    url = world[6]
    answer = httpx.post(url + "/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "AGENT_TOKEN_REQUIRED"


def test_the_http_endpoint_keeps_the_listeners_origin_check(world):
    url, host = world[6], world[3]
    answer = httpx.post(url + "/mcp", json=INITIALIZE, timeout=30,
                        headers={**MCP_HEADERS, "Authorization": f"Bearer {host}", "Origin": "https://evil.example"})
    assert answer.status_code == 403


def test_the_http_endpoint_is_not_served_on_the_unix_socket(world):
    sock, host = world[0], world[3]
    with client(sock) as c:
        answer = c.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Authorization": f"Bearer {host}"})
    assert answer.status_code == 404


def test_the_python_sdk_initializes_lists_and_calls_over_http_as_the_tokens_client(world):
    url, tiny = world[6], world[4]

    async def go():
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {tiny}"})
        async with http, streamable_http_client(url + "/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as s:
                info = await s.initialize()
                tools = {t.name for t in (await s.list_tools()).tools}
                left = await s.call_tool("budget_left", {})
                wallet = await s.call_tool("balance", {})
                return info, tools, left, wallet
    info, tools, left, wallet = asyncio.run(go())
    assert info.server_info.name == "venice-agent"
    assert {"chat", "image_generate", "budget_left"} <= tools
    assert not left.is_error and "client: mcp-tiny" in text(left) and "left of $0.0150" in text(left)
    # The tiny client has no wallet group: its policy applies over /mcp exactly as over the socket.
    assert wallet.is_error and "wallet" in text(wallet).lower()


def test_two_clients_with_the_same_request_id_each_get_their_own_answer(world):
    """JSON-RPC ids are unique only per client: concurrent calls of two tokens with id 7 must not cross."""
    url, host, tiny = world[6], world[3], world[4]
    call_budget = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "budget_left", "arguments": {}}}

    async def one(token):
        async with httpx.AsyncClient(timeout=60) as c:
            answer = await c.post(url + "/mcp", json=call_budget, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}",
                                                                            "MCP-Protocol-Version": "2025-06-18"})
            return answer.json()["result"]["content"][0]["text"]

    async def both():
        return await asyncio.gather(*[one(token) for _ in range(4) for token in (host, tiny)])
    answers = asyncio.run(both())
    assert all("client: mcp-host" in a for a in answers[0::2]) and all("client: mcp-tiny" in a for a in answers[1::2])


def test_over_http_no_tool_reads_or_writes_the_agent_owners_files(world, tmp_path):
    """Inside the agent a client must never reach the owner's files: no file_path, no save_to."""
    url, host = world[6], world[3]
    secret_audio = tmp_path / "private.wav"
    secret_audio.write_bytes(b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt ")
    target = tmp_path / "written"

    def tool(name, arguments):
        body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        answer = httpx.post(url + "/mcp", json=body, timeout=60,
                            headers={**MCP_HEADERS, "Authorization": f"Bearer {host}", "MCP-Protocol-Version": "2025-06-18"})
        return answer.json()["result"]
    read = tool("transcription", {"file_path": str(secret_audio)})
    assert read["isError"] and "audio_base64" in read["content"][0]["text"], read
    written = tool("speech", {"input": "hi", "save_to": str(target)})
    assert written["isError"] and "save_to" in written["content"][0]["text"], written
    assert not target.exists()


def test_the_server_never_logged_a_token_or_the_key(world):
    """Runs last in this module: every session above appended its stderr to the log."""
    _, _, key, _, _, logs = world[:6]
    log = (logs / "stderr.log").read_text()
    assert "venice-agent mcp: serving on stdio" in log
    assert "vat_" not in log
    assert key.lower() not in log.lower()
