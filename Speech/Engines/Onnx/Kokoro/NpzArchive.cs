using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;

namespace MitTts.Speech.Engines.Onnx.Kokoro;

/// <summary>A float32 array read from a NumPy <c>.npy</c> file: its values in C order and its shape.</summary>
public sealed record NpyArray(float[] Values, int[] Shape);

/// <summary>Reads NumPy <c>.npz</c> archives (a zip of <c>.npy</c> files, as <c>numpy.savez</c> writes them) of little-endian float32.</summary>
public static class NpzArchive
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Every array of the archive, by entry name without <c>.npy</c>.</summary>
    /// <exception cref="InvalidDataException">Not a zip, or an entry that is not a C-order little-endian float32 .npy.</exception>
    public static Dictionary<string, NpyArray> Read(Stream stream)
    {
        var arrays = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        foreach (var entry in zip.Entries)
        {
            if (!entry.Name.EndsWith(".npy", StringComparison.Ordinal))
            {
                continue;
            }

            using var content = entry.Open();
            using var bytes = new MemoryStream(checked((int)entry.Length));
            content.CopyTo(bytes);
            try
            {
                arrays[entry.FullName[..^4]] = ReadNpy(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{entry.FullName}: {e.Message}", e);
            }
        }

        return arrays;
    }

    /// <summary>Reads one <c>.npy</c> file (format 1.0, 2.0 or 3.0).</summary>
    public static NpyArray ReadNpy(ReadOnlySpan<byte> npy)
    {
        if (npy.Length < 10 || !npy[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a .npy array (no \\x93NUMPY magic).");
        }

        var major = npy[6];
        var (headerLength, headerStart) = major == 1
            ? (BinaryPrimitives.ReadUInt16LittleEndian(npy[8..]), 10)
            : ((int)BinaryPrimitives.ReadUInt32LittleEndian(npy[8..]), 12);
        if (headerStart + headerLength > npy.Length)
        {
            throw new InvalidDataException("the .npy header runs past the end of the file.");
        }

        var header = Encoding.Latin1.GetString(npy.Slice(headerStart, headerLength));
        var descr = Field(header, "descr");
        if (descr is not ("'<f4'" or "'float32'"))
        {
            throw new InvalidDataException($"dtype {descr} is not little-endian float32.");
        }

        if (Field(header, "fortran_order") != "False")
        {
            throw new InvalidDataException("Fortran-order arrays are not supported.");
        }

        var shapeText = Field(header, "shape").Trim('(', ')');
        var dims = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        long count = 1;
        for (var i = 0; i < dims.Length; i++)
        {
            shape[i] = int.Parse(dims[i], NumberStyles.None, CultureInfo.InvariantCulture);
            count *= shape[i];
        }

        var data = npy[(headerStart + headerLength)..];
        if (data.Length != count * sizeof(float))
        {
            throw new InvalidDataException($"shape ({shapeText}) needs {count * sizeof(float)} bytes of data, the file has {data.Length}.");
        }

        var values = new float[count];
        data.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Reading .npy on a big-endian machine is not supported.");
        }

        return new NpyArray(values, shape);
    }

    /// <summary>The text of one key of the header's Python dict literal, up to the next top-level comma.</summary>
    private static string Field(string header, string key)
    {
        var at = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (at < 0)
        {
            throw new InvalidDataException($"the .npy header has no '{key}'.");
        }

        var start = header.IndexOf(':', at) + 1;
        var end = start;
        var depth = 0;
        while (end < header.Length && (depth > 0 || (header[end] != ',' && header[end] != '}')))
        {
            depth += header[end] == '(' ? 1 : header[end] == ')' ? -1 : 0;
            end++;
        }

        return header[start..end].Trim();
    }
}
