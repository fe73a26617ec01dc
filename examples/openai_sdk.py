"""The OpenAI Python SDK talking to Venice through venice-agent's Unix socket.

    VENICE_AGENT_SOCK=/path/to/agent.sock python examples/openai_sdk.py [OUT_DIR]

Needs `pip install openai httpx`. The API key is a placeholder: the agent signs every
request with the wallet and drops any Authorization header it is sent.
"""
import base64
import os
import sys
from pathlib import Path

import httpx
import openai

sock = os.environ["VENICE_AGENT_SOCK"]
out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

venice = openai.OpenAI(
    api_key="not-used",  # never forwarded; the agent authenticates with the wallet
    base_url="http://agent/api/v1",
    http_client=httpx.Client(transport=httpx.HTTPTransport(uds=sock), timeout=300),
)

image = venice.images.generate(model="z-image-turbo", prompt="a red fox in snow", size="256x256",
                               response_format="b64_json")
png = out / "openai-image.png"
png.write_bytes(base64.b64decode(image.data[0].b64_json))
print(png)

speech = venice.audio.speech.create(model="tts-kokoro", voice="af_sky", input="Hello from the OpenAI SDK.",
                                    response_format="wav")
wav = out / "openai-speech.wav"
wav.write_bytes(speech.content)
print(wav)

with wav.open("rb") as f:
    text = venice.audio.transcriptions.create(model="nvidia/parakeet-tdt-0.6b-v3", file=f)
print("transcript:", text.text)
