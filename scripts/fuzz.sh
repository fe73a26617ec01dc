#!/usr/bin/env bash
# Fuzz the SIWE parser and the SIWX / x402 header decoders with libFuzzer.
#   scripts/fuzz.sh [seconds=60] [extra libFuzzer flags…]
# Builds the VENICE_FUZZ-only target `fuzz-siwe` with -sanitize=fuzzer into .build-fuzz (the normal
# build never sees it), seeds a working corpus from Tests/Fuzz/seeds, and runs for N seconds.
# Findings (crash-*, timeout-*, oom-*) land in .build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"; shift || true
BUILD=.build-fuzz
VENICE_FUZZ=1 swift build -c debug --build-path "$BUILD" --product fuzz-siwe \
    -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library
CORPUS="$BUILD/corpus"; FINDINGS="$BUILD/findings"
mkdir -p "$CORPUS" "$FINDINGS"
cp -n Tests/Fuzz/seeds/* "$CORPUS/" 2>/dev/null || true
exec "$BUILD/debug/fuzz-siwe" "$CORPUS" -dict=Tests/Fuzz/siwe.dict -max_total_time="$SECONDS_TO_RUN" \
    -max_len=4096 -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$FINDINGS/" "$@"
