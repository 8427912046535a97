#!/usr/bin/env bash
# Packs what the GPU machine needs to run the CUDA checks of issue 12 (it has CUDA 13 and cuDNN in its Python environment, but no
# .NET, no espeak-ng and no ONNX Runtime for .NET): the .NET runtime, the Release benchmark, the Debug test assembly with an xunit
# console runner, espeak-ng with its English data, and ONNX Runtime's CUDA provider with only its sm_90 (Hopper) kernels kept, the
# rest zeroed so the file compresses under the device tool's 64 MiB a call. Writes three parts of under 60 MB to .gpu/ at the repo
# root, one per call (each call carries one; run.sh on the machine unpacks each into /opt/mittts as it comes).
# Usage: bash bench/gpu/pack.sh   (after: dotnet build Tests; dotnet build -c Release bench/MitTts.Bench.Load)
#        bash bench/gpu/pack.sh bench   one part, .gpu/bench.tar.xz: the .NET runtime, espeak-ng and the Release benchmark without the
#        CUDA provider, with redis-server, redis-cli, nginx and espeak-ng's program (and the libraries of theirs a bare Ubuntu lacks), for the CPU-bound
#        benchmarks on the machine's 16 cores (run.sh stream, run.sh cluster)
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
out=$root/.gpu
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mode=${1:-all}
mkdir -p "$out" "$stage/dotnet/shared" "$stage/espeak/lib" "$stage/espeak/espeak-ng-data" "$stage/xunit"
grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$root/.git/info/exclude"

dotnet=$(dirname "$(readlink -f "$(command -v dotnet)")")
cp "$dotnet/dotnet" "$stage/dotnet/"
cp -r "$dotnet/host" "$stage/dotnet/"
cp -r "$dotnet/shared/Microsoft.NETCore.App" "$dotnet/shared/Microsoft.AspNetCore.App" "$stage/dotnet/shared/"

# Managed assemblies and the linux-x64 natives (the CUDA provider travels on its own, pruned).
parts="bench:bench/MitTts.Bench.Load/bin/Release/net10.0 tests:Tests/bin/Debug/net10.0"
[ "$mode" = bench ] && parts=${parts%% *}
for part in $parts; do
  name=${part%%:*} dir=$root/${part#*:}
  mkdir -p "$stage/$name"
  (cd "$dir" && tar --exclude=./runtimes --exclude='*.pdb' -cf - .) | tar -xf - -C "$stage/$name"
  mkdir -p "$stage/$name/runtimes/linux-x64/native"
  cp "$dir/runtimes/linux-x64/native/"libonnxruntime.so "$dir/runtimes/linux-x64/native/"libonnxruntime_providers_shared.so "$stage/$name/runtimes/linux-x64/native/"
done
# The tests' copies of files the benchmark has too become links to the benchmark's.
[ "$mode" = bench ] || (cd "$stage/tests" && find . -type f | while read -r f; do
  if cmp -s "$f" "../bench/$f"; then rm "$f" && ln -s "$(realpath --relative-to="$(dirname "$f")" "../bench/$f")" "$f"; fi
done)

lib=/usr/lib/x86_64-linux-gnu
cp "$lib/libespeak-ng.so.1" "$lib/libsonic.so.0" "$stage/espeak/lib/"
# The encoders' native libraries (Opus, MP3, FLAC): a bare machine has none of them.
cp "$lib/libopus.so.0" "$lib/libmp3lame.so.0" "$lib/libFLAC.so.12" "$lib/libogg.so.0" "$stage/espeak/lib/"
gcc -shared -fPIC -O2 -o "$stage/espeak/lib/libpcaudio.so.0" "$root/bench/gpu/pcaudio_stub.c"
(cd "$lib/espeak-ng-data" && cp -r phondata phonindex phontab intonations en_dict lang voices "$stage/espeak/espeak-ng-data/")

if [ "$mode" = bench ]; then
  mkdir -p "$stage/tools/bin" "$stage/tools/lib"
  # espeak-ng's program: the process-per-request server the REST scenario compares with runs it.
  cp /usr/bin/redis-server /usr/bin/redis-cli /usr/sbin/nginx /usr/bin/espeak-ng "$stage/tools/bin/"
  cp "$lib/liblzf.so.1" "$lib/libjemalloc.so.2" "$lib/libatomic.so.1" "$stage/tools/lib/"
  rm -f "$out/bench.tar.xz"
  tar -C "$stage" -cf - dotnet espeak bench tools | xz -T0 -7 >"$out/bench.tar.xz"
  ls -l "$out"
  exit
fi

nupkg=$(mktemp)
curl -sSfL -o "$nupkg" https://api.nuget.org/v3-flatcontainer/xunit.runner.console/2.4.1/xunit.runner.console.2.4.1.nupkg
unzip -q -j "$nupkg" 'tools/netcoreapp2.0/*' -d "$stage/xunit"
rm -f "$nupkg"

# xz, not zstd: the GPU machine has no zstd, and Python's lzma module unpacks xz there.
rm -f "$out"/*.tar.*
tar -C "$stage" -cf - dotnet espeak xunit | xz -T0 -7 >"$out/1-runtime.tar.xz"
tar -C "$stage" -cf - bench tests | xz -T0 -7 >"$out/2-assemblies.tar.xz"
provider=$root/Tests/bin/Debug/net10.0/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so
python3 "$root/bench/gpu/prune_fatbin.py" "$provider" "$stage/libonnxruntime_providers_cuda.so"
tar -C "$stage" -cf - libonnxruntime_providers_cuda.so | xz -T0 -7 >"$out/3-cuda-provider.tar.xz"
ls -l "$out"
