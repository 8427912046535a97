#!/bin/bash
# Cold start of a published gateway (embedded default): seconds from process start to /api/v1/ready, then first audio (ms) of the
# first ten WebSocket requests on one socket (PCM and Ogg/Opus in turn), a burst of 50 new sockets speaking at once (p50, max, wall),
# and five more requests on the first socket. Compares a plain publish with a ReadyToRun one, alternating, ROUNDS times (default 2).
#   bash bench/cold-start/run.sh [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-2}
out=$(mktemp -d)
dotnet publish "$root/Gateway/MitTts.Gateway.csproj" -c Release -o "$out/jit" --nologo -v quiet
dotnet publish "$root/Gateway/MitTts.Gateway.csproj" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$out/r2r" --nologo -v quiet
measure() {
  local dir=$1 label=$2 start pid ready result cpu
  start=$(date +%s.%N)
  MIT_TTS_HTTP_PORT=8300 MIT_TTS_WS_PORT=8301 MIT_TTS_CACHE_SIZE=0 MIT_TTS_LOG_LEVEL=WARNING \
    dotnet "$dir/MitTts.Gateway.dll" --tts:model_path="$root/models" > "$out/$label.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null http://127.0.0.1:8300/api/v1/ready; do sleep 0.05; done
  ready=$(echo "$(date +%s.%N) - $start" | bc)
  result=$(node --experimental-websocket "$root/bench/cold-start/cold.mjs" 8301 2>/dev/null)
  cpu=$(ps -o cputime= -p "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$label ready=${ready}s cpu=$cpu $result"
}
for _ in $(seq "$rounds"); do
  measure "$out/jit" jit
  measure "$out/r2r" r2r
done
rm -rf "$out"
