using System.Diagnostics;
using Microsoft.Extensions.Options;
using MitTts.Grains;
using MitTts.Grains.Interfaces;
using MitTts.Grains.Synthesis;
using MitTts.Grains.Synthesis.Neural;
using MitTts.Grains.Voices;
using MitTts.Speech.Audio;
using MitTts.Speech.Engines;
using MitTts.Speech.Engines.Espeak;
using MitTts.Speech.Engines.Onnx;
using MitTts.Speech.Engines.Onnx.Piper;
using MitTts.Tests.Support;

namespace MitTts.Tests.Speech.Onnx;

public sealed class NeuralModelSlotTests : IDisposable
{
    private readonly NeuralModelFolder _models = new();
    private readonly EspeakPhonemizer _phonemizer = new();

    public void Dispose() => _models.Dispose();

    [Fact]
    public async Task Closing_a_model_waits_for_the_inference_running_in_it_then_refuses_new_ones()
    {
        // Four hundred 1024×1024 products: seconds of work, still running when the model is closed.
        var path = _models.AddPiper("closing", NeuralTestModels.Piper(slowMatMuls: 400), NeuralTestModels.PiperConfig());
        var slot = new NeuralModelSlot(PiperEngine.EngineName, path, 22050, new OnnxSessionFactory(new OnnxDeviceOptions("cpu", IntraOpNumThreads: 1)),
            _phonemizer, (_, reason) => Assert.Fail(reason));
        Assert.True(slot.TryOpen());

        using var cancel = new CancellationTokenSource();
        var running = Task.Run(() => slot.SynthesizeAsync(new SpeechRequest("Hello.", string.Empty), new CollectingSink(), cancel.Token));
        var deadline = Stopwatch.StartNew();
        while (slot.Running() == 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the inference never started");
            await Task.Yield();
        }

        // Closed while the inference runs: the sessions must stay until it has left them (freeing them under it crashes the process),
        // so closing is still waiting half a second later; the inference, cancelled, then leaves and closing ends.
        var closing = Task.Run(slot.Dispose);
        Assert.NotSame(closing, await Task.WhenAny(closing, Task.Delay(TimeSpan.FromMilliseconds(500))));
        Assert.Equal(1, slot.Running());

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await closing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, slot.Running());
        await Assert.ThrowsAsync<SpeechEngineUnavailableException>(
            () => slot.SynthesizeAsync(new SpeechRequest("Hello.", string.Empty), new CollectingSink()));
    }

    [Fact]
    public async Task The_first_stream_of_a_neural_voice_learns_its_gain_off_the_calling_thread_and_a_cancel_stops_it()
    {
        // A synthesizer grain starts the stream on its own thread, and the first stream of a voice speaks a calibration sentence: with
        // a model whose inference takes seconds, the call must hand back a pending task at once, or the grain cannot hear the cancel.
        // The grain met it when espeak-ng's phonemes were ready before the engine asked for them (a loaded grain thread), so the whole
        // inference ran inside the call: here the phonemes are ready from the start.
        var path = _models.AddPiper("calibrating", NeuralTestModels.Piper(slowMatMuls: 400), NeuralTestModels.PiperConfig());
        var phonemes = await _phonemizer.PhonemizeAsync(SpeechRenderer.CalibrationText, "en-us");
        var slot = new NeuralModelSlot(PiperEngine.EngineName, path, 22050, new OnnxSessionFactory(new OnnxDeviceOptions("cpu", IntraOpNumThreads: 1)),
            new ReadyPhonemes(phonemes), (_, reason) => Assert.Fail(reason));
        Assert.True(slot.TryOpen());
        var voices = new VoiceCatalog(Options.Create(new TtsOptions { ModelPath = Path.Combine(AppContext.BaseDirectory, "models") }));
        var renderer = new SpeechRenderer(new SpeechEngines([]), voices, new AudioCache(100, 1 << 24));
        var voice = new VoiceEntry("en-calibrating", "en", "female", "calibrating", path, PiperEngine.EngineName, string.Empty, path, 22050);
        var request = new SynthesisRequest("Hello.", voice.Id, AudioFormat.Pcm, Priority.Normal, null, 1.0, 1.0, null);

        using var cancel = new CancellationTokenSource();
        var starting = renderer.StartStream(request, voice, slot, cancel.Token);
        Assert.False(starting.IsCompleted, "the calibration ran on the calling thread");
        var deadline = Stopwatch.StartNew();
        while (slot.Running() == 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the calibration never started");
            await Task.Yield();
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting);
        slot.Dispose();
        Assert.Equal(0, slot.Running());
    }

    /// <summary>Phonemes espeak-ng made before they were asked for, handed back at once.</summary>
    private sealed class ReadyPhonemes(IReadOnlyList<string> phonemes) : IPhonemizer
    {
        public Task<IReadOnlyList<string>> PhonemizeAsync(string text, string language, CancellationToken cancellationToken = default) => Task.FromResult(phonemes);
    }
}
