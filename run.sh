#!/usr/bin/env bash
# Installs what is missing, builds, and starts MitTts on the embedded default
# (one process, no Redis): REST on http://127.0.0.1:8000/api/v1, API page at /docs.
# Extra arguments go to the server, e.g. ./run.sh --server:http_port=9000
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh runtime
dotnet build Gateway/MitTts.Gateway.csproj -c Release -nologo -v quiet
exec dotnet Gateway/bin/Release/net10.0/MitTts.Gateway.dll "$@"
