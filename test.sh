#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
# The last line is the summary: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh test || exit 1
# The official openai npm package, at the version package-lock.json pins, for the OpenAI-compatibility tests.
if [[ ! -f Tests/OpenAi/node/node_modules/openai/package.json ]]; then
  npm ci --prefix Tests/OpenAi/node --no-audit --no-fund || exit 1
fi

log=$(mktemp)
# Build the whole solution first, so the benchmarks (not referenced by tests) cannot rot unnoticed.
dotnet build MitTts.Orleans.sln -nologo -v quiet || exit 1
dotnet test MitTts.Orleans.sln -nologo --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# VSTest prints one line per test assembly: "Passed!  - Failed: 0, Passed: 99, Skipped: 0, Total: 99, ..."
summary=$(grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" \
  | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/' \
  | awk '{ f += $1; p += $2; s += $3; n++ } END { if (n) printf "%d passed, %d failed, %d skipped\n", p, f, s }')
rm -f "$log"

if [[ -z "$summary" ]]; then
  echo "No test results: the build or the test run failed before any test ran (exit $status)." >&2
  exit $((status == 0 ? 1 : status))
fi
echo "$summary"
exit "$status"
