#!/usr/bin/env bash
# On the GPU machine: `run.sh unpack PART` unpacks one part that pack.sh made (one device call each, the machine kept warm between
# them); `run.sh check` then runs the CUDA test class and the neural benchmark on cuda:0 (BENCH=0: the tests alone), writing their
# output under $OUT. `run.sh stream PART` unpacks pack.sh's one bench part and runs the CPU-bound benchmark
# (default `first-audio interrupt`, or STREAM_ARGS) on the machine's cores, writing its tables under $OUT/results;
# `run.sh cluster PART` runs the cluster benchmark from the repo (default `cluster --cluster-latency-only`, or CLUSTER_ARGS) with
# the part's redis-server and nginx, the silos and gateways from the part's benchmark folder (it holds their assemblies).
# MITTTS_GPU_ROOT (default /opt/mittts) is where the parts go.
set -uo pipefail
root=${MITTTS_GPU_ROOT:-/opt/mittts}
mkdir -p "$root"
unpack_part() { python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], filter="tar")' "$1" "$root"; }
case ${1:-} in
unpack)
  unpack_part "$2" && echo "unpacked $2" && du -sh "$root"
  exit ;;
stream | cluster)
  unpack_part "$2" || exit ;;
check) ;;
*) echo "usage: run.sh unpack PART | run.sh check | run.sh stream PART | run.sh cluster PART" >&2; exit 2 ;;
esac

out=${OUT:-/tmp/out}
mkdir -p "$out"
# What every run needs: .NET, espeak-ng and the part's native libraries (check adds CUDA's below).
export LD_LIBRARY_PATH="$root/bench/runtimes/linux-x64/native:$root/espeak/lib:$root/tools/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ESPEAK_DATA_PATH=$root/espeak DOTNET_ROOT=$root/dotnet PATH=$root/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
ldconfig -p | grep -q libicuuc || export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
if [ "$1" = stream ] || [ "$1" = cluster ]; then
  { echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; uptime; } 2>&1 | tee "$out/machine.txt"
  mkdir -p "$out/results"
  if [ "$1" = stream ]; then
    # shellcheck disable=SC2086
    (cd "$root/bench" && timeout "${BENCH_TIMEOUT:-420}" dotnet MitTts.Bench.Load.dll ${STREAM_ARGS:-first-audio interrupt} --results "$out/results") 2>&1 \
      | tail -80 | tee "$out/bench.txt"
    exit
  fi
  # scripts/cluster.sh as it runs on a developer's machine, with what this one lacks stood in for: the Debian packages are the part's
  # binaries (so install-deps.sh's apt-get has nothing to do), the Release build is the benchmark's folder (no SDK here to build).
  repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/../.." && pwd))
  shims=$(mktemp -d)
  printf '#!/bin/sh\nexit 0\n' >"$shims/apt-get"
  printf '#!/bin/sh\n[ "$1" = build ] && exit 0\nexec %s "$@"\n' "$root/dotnet/dotnet" >"$shims/dotnet"
  command -v curl >/dev/null || printf '#!/usr/bin/env python3\nimport sys, urllib.request\nurl = [a for a in sys.argv[1:] if a.startswith("http")][0]\ntry:\n    body = urllib.request.urlopen(url, timeout=5).read()\nexcept Exception:\n    sys.exit(22)\nif "-o" not in sys.argv: sys.stdout.buffer.write(body)\n' >"$shims/curl"
  chmod +x "$shims"/*
  export PATH="$shims:$root/tools/bin:$PATH"
  mkdir -p /var/log/nginx /var/lib/nginx
  for project in Silo Gateway; do
    mkdir -p "$repo/$project/bin/Release" && ln -sfn "$root/bench" "$repo/$project/bin/Release/net10.0"
  done
  # shellcheck disable=SC2086
  (cd "$repo" && timeout "${BENCH_TIMEOUT:-420}" dotnet "$root/bench/MitTts.Bench.Load.dll" ${CLUSTER_ARGS:-cluster --cluster-latency-only} --results "$out/results") 2>&1 \
    | tail -80 | tee "$out/bench.txt"
  tail -n 20 "$repo"/.cluster-bench/*/*.log >"$out/cluster-logs.txt" 2>&1
  exit
fi

for app in bench tests; do
  ln -sf "$root/libonnxruntime_providers_cuda.so" "$root/$app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so"
done
# xunit's console runner runs on .NET 10 with ASP.NET Core beside it (the test assembly references the gateway).
cat >"$root/xunit/xunit.console.runtimeconfig.json" <<'JSON'
{"runtimeOptions":{"tfm":"net10.0","rollForward":"Major","frameworks":[{"name":"Microsoft.NETCore.App","version":"10.0.0"},{"name":"Microsoft.AspNetCore.App","version":"10.0.0"}]}}
JSON

# CUDA 13 and cuDNN 9 come from the machine's Python environment (PyTorch's nvidia-* wheels) or its CUDA toolkit.
cuda_dirs=$(find /usr/local /opt /usr/lib -xdev \( -name 'libcublasLt.so.13*' -o -name 'libcudart.so.13*' -o -name 'libcurand.so.10*' \
  -o -name 'libcufft.so.12*' -o -name 'libcudnn.so.9*' -o -name 'libnvrtc.so.13*' \) -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
export LD_LIBRARY_PATH="$root/bench/runtimes/linux-x64/native:$cuda_dirs:$LD_LIBRARY_PATH"

{
  echo "== machine"; nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv; nproc
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "== provider's libraries"; ldd "$root/libonnxruntime_providers_cuda.so" | grep -E "cuda|cublas|curand|cudnn|cufft|not found"
} 2>&1 | tee "$out/machine.txt"

echo "== OnnxDeviceTests"
(cd "$root/tests" && timeout 300 dotnet "$root/xunit/xunit.console.dll" MitTts.Tests.dll -class MitTts.Tests.Speech.Onnx.OnnxDeviceTests -verbose) 2>&1 | tee "$out/tests.txt"
echo "tests exit: ${PIPESTATUS[0]}"

[ "${BENCH:-1}" = 1 ] || exit 0
echo "== neural benchmark on cuda:0"
mkdir -p "$out/results"
(cd "$root/bench" && timeout "${BENCH_TIMEOUT:-360}" dotnet MitTts.Bench.Load.dll neural --onnx-device cuda:0 --onnx-threads "${ONNX_THREADS:-8}" --results "$out/results" ${BENCH_ARGS:-}) 2>&1 | tail -60 | tee "$out/bench.txt"
nvidia-smi --query-gpu=memory.used --format=csv
