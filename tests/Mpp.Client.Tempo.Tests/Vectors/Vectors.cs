using System.Text.Json;

namespace Mpp.Client.Tempo.Tests;

internal static class Vectors
{
    public static JsonElement Load(string file)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", file);
        if (!File.Exists(path))
        {
            Assert.Fail($"Missing test vector {path} (copied from shared/interop/vectors).");
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.Clone();
    }
}
