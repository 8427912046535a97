#!/usr/bin/env bash
# Installs the Debian packages MitTts needs, when they are missing.
#   scripts/install-deps.sh runtime   libespeak-ng1 (the embedded engine), libmp3lame0 (MP3 output), libopus0 (Ogg/Opus output), libflac12 (FLAC output),
#                                     libavcodec59 (AAC output: FFmpeg 5.1's native encoder)
#   scripts/install-deps.sh test      + espeak-ng (reference output), ffmpeg, opus-tools, sox (independent decoders),
#                                     redis-server and nginx (the cluster tests run a real cluster behind a load balancer),
#                                     prometheus (the metrics tests scrape a server with a real Prometheus; promtool checks the alert rules),
#                                     chromium (the web playground's tests drive it headless),
#                                     nodejs and npm unless node is already there (the openai npm package tests /v1)
#   scripts/install-deps.sh cluster   runtime + redis-server and nginx (scripts/cluster.sh)
set -euo pipefail

need=(libespeak-ng1 espeak-ng-data libmp3lame0 libopus0 libflac12 libavcodec59)
if [[ "${1:-runtime}" == "test" ]]; then
  need+=(espeak-ng ffmpeg opus-tools sox redis-server nginx prometheus chromium)
  # The OpenAI-compatibility tests run the openai npm package: Debian's node and npm when the machine has none of its own.
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
elif [[ "${1:-runtime}" == "cluster" ]]; then
  need+=(redis-server nginx)
fi

missing=()
for package in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "MitTts needs these Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required (dotnet was not found on PATH)." >&2
  exit 1
fi
