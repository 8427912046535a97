using Microsoft.ML.OnnxRuntime;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Kokoro;
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
    public void A_gpu_gets_the_fixed_convolution_algorithm_and_no_tf32_unless_configured_otherwise()
    {
        var plain = OnnxSessionFactory.CudaProviderValues(2, new OnnxDeviceOptions("cuda:2"));
        var configured = OnnxSessionFactory.CudaProviderValues(1, new OnnxDeviceOptions("cuda:1", CudaProviderOptions: new Dictionary<string, string>
        {
            ["use_tf32"] = "1",
            ["gpu_mem_limit"] = "2147483648",
            ["device_id"] = "7",
        }));

        Assert.Equal(new Dictionary<string, string> { ["cudnn_conv_algo_search"] = "DEFAULT", ["use_tf32"] = "0", ["device_id"] = "2" }, plain);
        Assert.Equal(
            new Dictionary<string, string> { ["cudnn_conv_algo_search"] = "DEFAULT", ["use_tf32"] = "1", ["gpu_mem_limit"] = "2147483648", ["device_id"] = "1" },
            configured);
    }

    [CudaFact]
    public void On_a_gpu_an_option_onnx_runtime_refuses_makes_the_device_fall_back_and_say_which()
    {
        var sessions = new OnnxSessionFactory(new OnnxDeviceOptions("cuda:0", CudaProviderOptions: new Dictionary<string, string> { ["cudnn_conv_algo_search"] = "FASTEST" }));

        Assert.Equal(OnnxSessionFactory.CpuProvider, sessions.ExecutionProvider);
        Assert.Contains("cuda:0", sessions.FallbackReason, StringComparison.Ordinal);
        Assert.NotEmpty(RunPiper(sessions));
    }

    [CudaFact]
    public void On_a_gpu_models_of_realistic_size_give_the_cpu_audio_within_float_tolerance()
    {
        var (gpu, cpu) = (new OnnxSessionFactory(new OnnxDeviceOptions("cuda:0", FallBackToCpu: false)), new OnnxSessionFactory(new OnnxDeviceOptions("cpu")));
        var piperPath = Path.Combine(_models.Path, "en_US-built-medium.onnx");
        BuiltPiperVoice.Write(piperPath, divisor: 2);
        File.WriteAllText(piperPath + ".json", BuiltPiperVoice.Config());
        BuiltKokoroModel.Write(_models.Path, divisor: 2);
        const string Phonemes = "jʊɹ ˈɔːɹdɚ ʃˈɪps ɑːn tˈuːzdeɪ.";

        float[] Piper(OnnxSessionFactory sessions)
        {
            using var model = PiperModel.Open(piperPath, sessions);
            var ids = PiperPhonemeIds.Encode(Phonemes, model.Config.PhonemeIds).Ids;
            return model.Synthesize([new PiperUtterance(ids)], new PiperScales(0, 1, 0))[0]; // no noise: no random draws
        }

        float[] Kokoro(OnnxSessionFactory sessions)
        {
            using var model = KokoroModel.Open(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroModelFile), sessions);
            var tokens = KokoroVocabulary.Load(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroConfigFile)).Tokenize(Phonemes).Tokens;
            var pack = KokoroVoicePack.Load(Path.Combine(_models.Path, NeuralVoiceDiscovery.KokoroVoicesFile));
            return model.Synthesize(tokens, pack.Style(pack.Voices.First(), tokens.Length), 1f);
        }

        // Without TF32 (our default) the GPU does float32 arithmetic: the CPU's audio up to rounding, and the same length, since the
        // duration predictors round to the same whole frames. The bench measured 1.5e-6 (Piper) and 9.3e-3 (Kokoro, whose random
        // weights make its iSTFT phases sensitive) at full size.
        AssertClose(Piper(cpu), Piper(gpu), 1e-4);
        AssertClose(Kokoro(cpu), Kokoro(gpu), 3e-2);
    }

    private static void AssertClose(float[] expected, float[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        double difference = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            difference += (actual[i] - (double)expected[i]) * (actual[i] - (double)expected[i]);
            norm += expected[i] * (double)expected[i];
        }

        Assert.True(norm > 0, "the reference audio is silent");
        Assert.InRange(Math.Sqrt(difference / norm), 0, relative);
    }

    [Fact]
    public void The_onnx_runtime_package_offers_cuda_and_cpu_providers() =>
        Assert.Superset(new HashSet<string> { OnnxSessionFactory.CpuProvider, OnnxSessionFactory.CudaProvider }, new HashSet<string>(OrtEnv.Instance().GetAvailableProviders()));
}
