#!/usr/bin/env bash
# The offline demo behind `make demo`: a throwaway wallet, venice-sim on loopback as
# Venice, venice-agent in front of it on a temporary socket, then the CLI as a user
# would run it. Everything it starts is stopped on exit, Ctrl-C or SIGTERM.
#
#   scripts/demo.sh BIN_DIR [OUT_DIR]    BIN_DIR holds venice-agent and venice-sim
set -euo pipefail

BIN_DIR=${1:?usage: scripts/demo.sh BIN_DIR [OUT_DIR]}
OUT_DIR=${2:-demo-output}
AGENT="$BIN_DIR/venice-agent"
SIM="$BIN_DIR/venice-sim"
for b in "$AGENT" "$SIM"; do [ -x "$b" ] || { echo "demo: $b is missing; build first (make demo does)" >&2; exit 1; }; done

started=$(date +%s)
work=$(mktemp -d /tmp/venice-demo.XXXXXX)
sim_pid="" agent_pid=""

stop() {  # stop PID gracefully, then for good
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop "$agent_pid"
    stop "$sim_pid"
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '$ %s\n' "$*"; }

wait_for_file() {  # FILE PID WHAT
    for _ in $(seq 300); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || { echo "demo: $3 exited early; its log:" >&2; cat "$work"/*.log >&2 || true; return 1; }
        sleep 0.1
    done
    echo "demo: $3 did not start within 30 s" >&2
    return 1
}

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.png "$OUT_DIR"/*.wav

step "1. The simulator plays Venice on loopback"
"$SIM" --port 0 --port-file "$work/port" --audio-processing-ms 6000 --quiet >"$work/sim.log" 2>&1 </dev/null &
sim_pid=$!
wait_for_file "$work/port" "$sim_pid" venice-sim
SIM_PORT=$(cat "$work/port")
echo "venice-sim listening on http://127.0.0.1:$SIM_PORT/api/v1"

step "2. A throwaway wallet (encrypted keystore, random password, nothing funded)"
head -c 24 /dev/urandom | base64 >"$work/password"
say "venice-agent key new --keystore wallet.json --password-file password --scrypt-n 8192"
address=$("$AGENT" key new --keystore "$work/wallet.json" --password-file "$work/password" --scrypt-n 8192)
echo "$address"

step "3. The agent holds the key and serves a Unix socket"
say "venice-agent serve --keystore wallet.json --password-file password --upstream http://127.0.0.1:$SIM_PORT/api/v1 --print-env"
"$AGENT" serve --keystore "$work/wallet.json" --password-file "$work/password" --socket "$work/agent/agent.sock" --state-dir "$work/state" \
    --upstream "http://127.0.0.1:$SIM_PORT/api/v1" --print-env >"$work/env" 2>"$work/agent.log" </dev/null &
agent_pid=$!
wait_for_file "$work/env" "$agent_pid" venice-agent
cat "$work/env"
eval "$(cat "$work/env")"
say "venice-agent status"
"$AGENT" status

step "4. Top up \$10 of credit (the agent signs an EIP-3009 USDC authorization; the simulator verifies and settles it)"
say "venice-agent topup 10"
"$AGENT" topup 10

step "5. An image"
say "venice-agent image generate 'a lighthouse at dusk, watercolor' --size 512x512 --out $OUT_DIR"
"$AGENT" image generate "a lighthouse at dusk, watercolor" --size 512x512 --seed 7 --out "$OUT_DIR"

step "6. Speech"
say "venice-agent speech 'Hello from venice-agent. …' --out $OUT_DIR/speech.wav"
"$AGENT" speech "Hello from venice agent. The key never left the agent." --out "$OUT_DIR/speech.wav"

step "7. Music: quote, queue, follow, save"
say "venice-agent music 'calm ambient piano with soft rain' --duration 60 --yes --out $OUT_DIR/music.wav"
"$AGENT" music "calm ambient piano with soft rain" --duration 60 --yes --out "$OUT_DIR/music.wav"

step "8. What it cost"
say "venice-agent balance"
"$AGENT" balance
say "venice-agent transactions"
"$AGENT" transactions
say "venice-agent spend --by model"
"$AGENT" spend --by model

step "Done in $(( $(date +%s) - started )) s; files in $OUT_DIR/"
ls -l "$OUT_DIR"
