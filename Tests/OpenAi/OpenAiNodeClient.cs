using System.Text.Json;
using MitTts.Tests.Support;

namespace MitTts.Tests.OpenAi;

/// <summary>The official <c>openai</c> npm package, run by <c>node/speech.mjs</c> against a running gateway: one node process per call,
/// any number of speech requests, each answered by one JSON line (and its audio in a file).</summary>
public static class OpenAiNodeClient
{
    private static readonly SemaphoreSlim s_install = new(1, 1);
    private static bool s_installed;

    /// <summary>Where <c>package.json</c>, its lock file and <c>speech.mjs</c> are: in the source tree, beside this file.</summary>
    public static string Folder { get; } = Path.Combine(RepositoryRoot(), "Tests", "OpenAi", "node");

    /// <summary>Runs <paramref name="requests"/> (<c>{name, params, headers?, client?}</c>) with <paramref name="apiKey"/> (null: none).</summary>
    public static async Task<OpenAiRun> Run(Uri gateway, string? apiKey, params object[] requests)
    {
        await EnsureInstalled();
        var output = Directory.CreateTempSubdirectory("mittts-openai-");
        var (stdout, _, _) = await ExternalTool.Run(
            "node", Path.Combine(Folder, "speech.mjs"), gateway.ToString().TrimEnd('/'), apiKey ?? "-", output.FullName, JsonSerializer.Serialize(requests));
        var results = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var result = JsonDocument.Parse(line).RootElement;
            results[result.GetProperty("name").GetString()!] = result;
        }

        return new OpenAiRun(results, output);
    }

    /// <summary><c>npm ci</c> once, when the package is not installed yet (test.sh installs it first; a bare <c>dotnet test</c> too).</summary>
    private static async Task EnsureInstalled()
    {
        await s_install.WaitAsync();
        try
        {
            if (!s_installed && !File.Exists(Path.Combine(Folder, "node_modules", "openai", "package.json")))
            {
                await ExternalTool.Run("npm", "ci", "--prefix", Folder, "--no-audit", "--no-fund");
            }

            s_installed = true;
        }
        finally
        {
            s_install.Release();
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MitTts.Orleans.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("MitTts.Orleans.sln not found above the test folder.");
    }
}

/// <summary>What one node run answered, by request name, and the folder holding each request's audio (<c>{name}.bin</c>).</summary>
public sealed class OpenAiRun(IReadOnlyDictionary<string, JsonElement> results, DirectoryInfo output) : IDisposable
{
    public JsonElement this[string name] => results.TryGetValue(name, out var result) ? result : throw new KeyNotFoundException($"node gave no answer for '{name}'.");

    public byte[] Audio(string name) => File.ReadAllBytes(Path.Combine(output.FullName, name + ".bin"));

    public void Dispose() => output.Delete(recursive: true);
}
