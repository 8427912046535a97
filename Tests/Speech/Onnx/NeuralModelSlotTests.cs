using System.Diagnostics;
using MitTts.Grains.Synthesis.Neural;
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
}
