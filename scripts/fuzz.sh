#!/usr/bin/env bash
# Fuzz the agent's parsers of untrusted input with libFuzzer.
#   scripts/fuzz.sh [target=fuzz-siwe] [seconds=60] [extra libFuzzer flags…]
#   scripts/fuzz.sh [seconds]                      (fuzz-siwe, as before)
# Targets (VENICE_FUZZ-only; sources in Sources/fuzz-siwe and Sources/fuzz-agent/*):
#   fuzz-siwe            SIWE parser, SIWX / x402 header decoders
#   fuzz-agent-api       agent API JSON bodies (JSONValue, unlock password scanner, mint body,
#                        USD amounts), client-token lookup, multipart `model` sniffing, the
#                        multipart form splitter and audio-length bound used to price uploads,
#                        and the CLI's parser of the server's HTTP response
#   fuzz-agent-config    TOML config: the agent's own TOML parser, ConfigFile.parse + apply(to:)
#   fuzz-agent-keystore  v3 keystore: declared address, decrypt (small KDF costs only), scrypt
#                        parameter validation
#   all                  each of the above in turn, N seconds each
# Builds the target with -sanitize=fuzzer into .build-fuzz (the normal build never sees it),
# seeds a working corpus (.build-fuzz/corpus/TARGET) from Tests/Fuzz/, and runs for N seconds.
# Findings (crash-*, timeout-*, oom-*) land in .build-fuzz/findings/TARGET/. To replay one with a
# symbolicated Swift backtrace, or to shrink it:
#   .build-fuzz/debug/TARGET .build-fuzz/findings/TARGET/crash-…
#   SWIFT_BACKTRACE=enable=no .build-fuzz/debug/TARGET -minimize_crash=1 -runs=20000 crash-…
# To keep going past crashes (collect every distinct one in one run), add libFuzzer's fork mode:
#   scripts/fuzz.sh fuzz-agent-config 600 -fork=1 -ignore_crashes=1
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=fuzz-siwe
if [[ $# -gt 0 && ! "$1" =~ ^[0-9]+$ && "$1" != -* ]]; then TARGET="$1"; shift; fi
SECONDS_TO_RUN="${1:-60}"; shift || true

if [[ "$TARGET" == all ]]; then
    for t in fuzz-siwe fuzz-agent-api fuzz-agent-config fuzz-agent-keystore; do
        "$0" "$t" "$SECONDS_TO_RUN" "$@" || echo "fuzz.sh: $t stopped with status $?" >&2
    done
    exit 0
fi

# Seeds and dictionary of each target.
case "$TARGET" in
    fuzz-siwe)           SEEDS=Tests/Fuzz/seeds;                  DICT=Tests/Fuzz/siwe.dict ;;
    fuzz-agent-api)      SEEDS=Tests/Fuzz/seeds-agent-api;        DICT=Tests/Fuzz/agent-api.dict ;;
    fuzz-agent-config)   SEEDS=Tests/Fuzz/seeds-agent-config;     DICT=Tests/Fuzz/agent-config.dict ;;
    fuzz-agent-keystore) SEEDS=Tests/Fuzz/seeds-agent-keystore;   DICT=Tests/Fuzz/agent-keystore.dict ;;
    *) echo "fuzz.sh: unknown target $TARGET (fuzz-siwe, fuzz-agent-api, fuzz-agent-config, fuzz-agent-keystore, all)" >&2; exit 2 ;;
esac

BUILD=.build-fuzz
# -Xcxx: C and C++ dependencies get coverage counters too; the same flags for every target
# avoid rebuilds.
VENICE_FUZZ=1 swift build -c debug --build-path "$BUILD" --product "$TARGET" \
    -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library -Xcxx -fsanitize=fuzzer-no-link
CORPUS="$BUILD/corpus/$TARGET"; FINDINGS="$BUILD/findings/$TARGET"
mkdir -p "$CORPUS" "$FINDINGS"
cp -n "$SEEDS"/* "$CORPUS/" 2>/dev/null || true
# Swift's own backtracer would take the crash signal first and libFuzzer would then write no
# crash-* file; leave the signals to libFuzzer (replay a finding without this for a Swift backtrace).
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
exec "$BUILD/debug/$TARGET" "$CORPUS" -dict="$DICT" -max_total_time="$SECONDS_TO_RUN" \
    -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$FINDINGS/" "$@"
