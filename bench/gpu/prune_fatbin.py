"""Keeps only the sm_90 (Hopper: H100, H200) machine code in a CUDA library's .nv_fatbin section and zeroes the other
architectures' payloads, so ONNX Runtime's 284 MB CUDA provider compresses to about 54 MB and fits the GPU machine's transfer
limit. Entry headers stay as they are, so the CUDA driver still sees every entry and loads the sm_90 one on an sm_90 GPU; a
fatbin without an sm_90 entry is left whole. Not for shipping: a library pruned so runs on Hopper GPUs alone.

Usage: python3 prune_fatbin.py IN.so OUT.so"""
import struct
import subprocess
import sys

FATBIN_MAGIC = 0xBA55ED50
ELF_KIND = 2
KEEP_ARCH = 90


def fatbin_section(path):
    for line in subprocess.run(["objdump", "-h", path], check=True, capture_output=True, text=True).stdout.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == ".nv_fatbin":
            return int(fields[5], 16), int(fields[2], 16)  # file offset, size
    sys.exit(f"{path}: no .nv_fatbin section")


def main(src, dst):
    data = bytearray(open(src, "rb").read())
    offset, size = fatbin_section(src)
    end = offset + size
    p = offset
    zeroed = kept = whole = 0
    while p < end:
        magic, _, header_size, fat_size = struct.unpack_from("<IHHQ", data, p)
        if magic != FATBIN_MAGIC:
            p += 8  # alignment padding between fatbins
            continue
        q, fat_end = p + header_size, p + header_size + fat_size
        entries = []
        while q < fat_end:
            kind, _, entry_header, payload = struct.unpack_from("<HHIQ", data, q)
            arch = struct.unpack_from("<I", data, q + 28)[0]
            entries.append((kind, arch, q + entry_header, payload))
            q += entry_header + payload
        if any(kind == ELF_KIND and arch == KEEP_ARCH for kind, arch, _, _ in entries):
            for _, arch, start, payload in entries:
                if arch == KEEP_ARCH:
                    kept += payload
                else:
                    data[start:start + payload] = bytes(payload)
                    zeroed += payload
        else:
            whole += 1
        p = fat_end
    open(dst, "wb").write(data)
    print(f"{src}: kept {kept >> 20} MB of sm_{KEEP_ARCH} code, zeroed {zeroed >> 20} MB, {whole} fatbin(s) without sm_{KEEP_ARCH} left whole")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
