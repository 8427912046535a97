using System.Globalization;

namespace MitTts.Speech.Engines.Onnx;

/// <summary>Where a neural model runs: <c>cpu</c> (or <c>cpu:N</c>) or <c>cuda:N</c>, with the CPU threads one inference may use.</summary>
/// <param name="Device">The device name, as the synthesizer grain keys are spelled (<c>cpu:0</c>, <c>cuda:1</c>).</param>
/// <param name="IntraOpNumThreads">Threads inside one CPU inference; 0 lets ONNX Runtime use every core.</param>
/// <param name="FallBackToCpu">When the CUDA provider cannot load: run on CPU and say why (true), or refuse (false).</param>
/// <param name="CudaProviderOptions">ONNX Runtime CUDA provider options (<c>cudnn_conv_algo_search</c>, <c>use_tf32</c>, ...) over
/// <see cref="OnnxSessionFactory.DefaultCudaProviderOptions"/>; <c>device_id</c> always comes from <paramref name="Device"/>.</param>
public sealed record OnnxDeviceOptions(
    string Device = "cpu", int IntraOpNumThreads = 0, bool FallBackToCpu = true, IReadOnlyDictionary<string, string>? CudaProviderOptions = null)
{
    /// <summary>The GPU ordinal of a <c>cuda:N</c> device (<c>cuda</c> alone is GPU 0); null for a CPU device.</summary>
    /// <exception cref="ArgumentException">The device name is neither <c>cpu[:N]</c> nor <c>cuda[:N]</c>.</exception>
    public int? CudaDeviceId
    {
        get
        {
            var (kind, ordinal) = Parse(Device);
            return kind == "cuda" ? ordinal : null;
        }
    }

    private static (string Kind, int Ordinal) Parse(string device)
    {
        var colon = device.IndexOf(':', StringComparison.Ordinal);
        var kind = (colon < 0 ? device : device[..colon]).Trim().ToLowerInvariant();
        var ordinal = 0;
        if ((kind is not ("cpu" or "cuda"))
            || (colon >= 0 && (!int.TryParse(device.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ordinal) || ordinal < 0)))
        {
            throw new ArgumentException($"Device '{device}' is neither cpu[:N] nor cuda[:N].", nameof(device));
        }

        return (kind, ordinal);
    }
}
