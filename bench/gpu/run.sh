#!/usr/bin/env bash
# On the GPU machine: `run.sh unpack PART` unpacks one part that pack.sh made (one device call each, the machine kept warm between
# them); `run.sh check` then runs the CUDA test class and the neural benchmark on cuda:0 (BENCH=0: the tests alone), writing their
# output under $OUT.
# MITTTS_GPU_ROOT (default /opt/mittts) is where the parts go.
set -uo pipefail
root=${MITTTS_GPU_ROOT:-/opt/mittts}
mkdir -p "$root"
case ${1:-} in
unpack)
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2], filter="tar")' "$2" "$root" && echo "unpacked $2" && du -sh "$root"
  exit ;;
check) ;;
*) echo "usage: run.sh unpack PART | run.sh check" >&2; exit 2 ;;
esac

out=${OUT:-/tmp/out}
mkdir -p "$out"
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
export LD_LIBRARY_PATH="$root/bench/runtimes/linux-x64/native:$cuda_dirs:$root/espeak/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ESPEAK_DATA_PATH=$root/espeak DOTNET_ROOT=$root/dotnet PATH=$root/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
ldconfig -p | grep -q libicuuc || export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1

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
