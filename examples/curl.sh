#!/usr/bin/env bash
# Calling Venice through venice-agent with plain curl: no key, no signature, just the socket.
#   VENICE_AGENT_SOCK=/path/to/agent.sock examples/curl.sh [OUT_DIR]
set -euo pipefail
sock=${VENICE_AGENT_SOCK:?set VENICE_AGENT_SOCK to the agent socket (venice-agent serve --print-env prints it)}
out=${1:-.}
mkdir -p "$out"

# The agent's own API: who is it, is it unlocked?
curl -sS --fail-with-body --unix-socket "$sock" http://agent/agent/v1/status
echo

# The wallet's prepaid credit; "me" is the agent's wallet.
curl -sS --fail-with-body --unix-socket "$sock" http://agent/api/v1/x402/balance/me
echo

# An image, as raw PNG bytes (return_binary), written to a file. Same body as Venice's API.
curl -sS --fail-with-body --unix-socket "$sock" http://agent/api/v1/image/generate \
    -H 'Content-Type: application/json' \
    -d '{"model":"z-image-turbo","prompt":"a lighthouse at dusk","width":256,"height":256,"format":"png","return_binary":true}' \
    -o "$out/curl-image.png"
echo "$out/curl-image.png"

# Speech, as a WAV file.
curl -sS --fail-with-body --unix-socket "$sock" http://agent/api/v1/audio/speech \
    -H 'Content-Type: application/json' \
    -d '{"model":"tts-kokoro","input":"Hello from curl.","response_format":"wav"}' \
    -o "$out/curl-speech.wav"
echo "$out/curl-speech.wav"
