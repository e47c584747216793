using System.Text.Json;

namespace Mpp.Client.Tests.Vectors;

/// <summary>Loads the mppx reference vectors copied into this project (see Vectors/README.md).</summary>
internal static class ReferenceVectors
{
    public static JsonElement Load(string fileName)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Vectors", fileName);
        if (!File.Exists(path))
        {
            Assert.Fail($"Missing test vector file {path}; it is copied from shared/interop/vectors by the test project.");
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.Clone();
    }

    public static string Str(this JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            element = element.GetProperty(name);
        }

        return element.GetString()!;
    }

    public static JsonElement Get(this JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            element = element.GetProperty(name);
        }

        return element;
    }

    public static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
