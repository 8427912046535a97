using Microsoft.ML.OnnxRuntime;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Piper;

namespace MitTts.Tests.Speech.Onnx;

/// <summary>A fact that needs an NVIDIA GPU; it skips itself, saying so, on a machine without one.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!OnnxDeviceTests.HasNvidiaGpu)
        {
            Skip = "No NVIDIA GPU here (/dev/nvidia0 is absent): the CUDA execution provider cannot be tried.";
        }
    }
}

/// <summary>A fact about a machine without a GPU; it skips itself where there is one.</summary>
public sealed class NoCudaFactAttribute : FactAttribute
{
    public NoCudaFactAttribute()
    {
        if (OnnxDeviceTests.HasNvidiaGpu)
        {
            Skip = "This machine has an NVIDIA GPU: the fallback for a machine without one cannot be seen here.";
        }
    }
}

public sealed class OnnxDeviceTests : IDisposable
{
    private readonly NeuralModelFolder _models = new();

    public static bool HasNvidiaGpu => File.Exists("/dev/nvidia0");

    public void Dispose() => _models.Dispose();

    private float[] RunPiper(OnnxSessionFactory sessions)
    {
        using var model = PiperModel.Open(_models.AddPiper($"v{Guid.NewGuid():N}", NeuralTestModels.Piper(), NeuralTestModels.PiperConfig()), sessions);
        var ids = PiperPhonemeIds.Encode("həlˈoʊ.", model.Config.PhonemeIds).Ids;
        return model.Synthesize([new PiperUtterance(ids)], model.Config.Scales)[0];
    }

    [Theory]
    [InlineData("cpu", null)]
    [InlineData("cpu:0", null)]
    [InlineData("cuda", 0)]
    [InlineData("cuda:1", 1)]
    [InlineData("CUDA:2", 2)]
    public void Device_names_say_cpu_or_which_gpu(string device, int? gpu) =>
        Assert.Equal(gpu, new OnnxDeviceOptions(device).CudaDeviceId);

    [Theory]
    [InlineData("gpu:0")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void Other_device_names_are_refused(string device) =>
        Assert.Throws<ArgumentException>(() => new OnnxDeviceOptions(device).CudaDeviceId);

    [Fact]
    public void A_cpu_device_runs_on_the_cpu_provider()
    {
        var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cpu:0", IntraOpNumThreads: 1));

        Assert.Equal(OnnxSessionFactory.CpuProvider, sessions.ExecutionProvider);
        Assert.Null(sessions.FallbackReason);
        Assert.NotEmpty(RunPiper(sessions));
    }

    [Fact]
    public void A_gpu_whose_provider_loads_gets_it_for_every_session()
    {
        var appended = new List<int>();
        var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cuda:1"), (_, gpu) => appended.Add(gpu));

        var audio = RunPiper(sessions);

        Assert.Equal(OnnxSessionFactory.CudaProvider, sessions.ExecutionProvider);
        Assert.Null(sessions.FallbackReason);
        Assert.Equal([1, 1], appended); // the probe, then the session
        Assert.NotEmpty(audio);
    }

    [Fact]
    public void A_gpu_whose_provider_cannot_load_falls_back_to_cpu_and_says_why()
    {
        var sessions = new OnnxSessionFactory(
            new OnnxDeviceOptions("cuda:1", FallBackToCpu: true), (_, _) => throw new DllNotFoundException("libcublasLt.so.13: cannot open shared object file"));

        var audio = RunPiper(sessions);

        Assert.Equal(OnnxSessionFactory.CpuProvider, sessions.ExecutionProvider);
        Assert.Contains("cuda:1", sessions.FallbackReason, StringComparison.Ordinal);
        Assert.Contains("libcublasLt", sessions.FallbackReason, StringComparison.Ordinal);
        Assert.Equal(RunPiper(new OnnxSessionFactory(new OnnxDeviceOptions("cpu"))), audio);
    }

    [Fact]
    public void A_gpu_whose_provider_cannot_load_is_refused_when_fallback_is_off()
    {
        var error = Assert.Throws<SpeechEngineUnavailableException>(() => new OnnxSessionFactory(
            new OnnxDeviceOptions("cuda:0", FallBackToCpu: false), (_, _) => throw new DllNotFoundException("libcudart.so.13")));

        Assert.Equal("engine_unavailable", SpeechEngineUnavailableException.Code);
        Assert.Contains("cuda:0", error.Message, StringComparison.Ordinal);
        Assert.Contains("libcudart", error.Message, StringComparison.Ordinal);
    }

    [NoCudaFact]
    public void On_this_machine_without_a_gpu_the_real_cuda_provider_fails_and_the_device_runs_on_cpu()
    {
        var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cuda:0", IntraOpNumThreads: 1));

        Assert.Equal(OnnxSessionFactory.CpuProvider, sessions.ExecutionProvider);
        Assert.Contains("cuda:0", sessions.FallbackReason, StringComparison.Ordinal);
        Assert.NotEmpty(RunPiper(sessions));
        Assert.Throws<SpeechEngineUnavailableException>(() => new OnnxSessionFactory(new OnnxDeviceOptions("cuda:0", FallBackToCpu: false)));
    }

    [CudaFact]
    public void On_a_gpu_the_built_model_gives_what_it_gives_on_cpu()
    {
        var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cuda:0", FallBackToCpu: false));

        var gpu = RunPiper(sessions);

        Assert.Equal(OnnxSessionFactory.CudaProvider, sessions.ExecutionProvider);
        var cpu = RunPiper(new OnnxSessionFactory(new OnnxDeviceOptions("cpu")));
        Assert.Equal(cpu.Length, gpu.Length);
        for (var i = 0; i < cpu.Length; i++)
        {
            Assert.Equal(cpu[i], gpu[i], 1e-5f);
        }
    }

    [Fact]
    public void The_onnx_runtime_package_offers_cuda_and_cpu_providers() =>
        Assert.Superset(new HashSet<string> { OnnxSessionFactory.CpuProvider, OnnxSessionFactory.CudaProvider }, new HashSet<string>(OrtEnv.Instance().GetAvailableProviders()));
}
