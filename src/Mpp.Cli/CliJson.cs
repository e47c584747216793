using System.Text;
using System.Text.Json;

namespace Mpp.Cli;

/// <summary>How every <c>--json</c> output is written: one indented document and a newline.</summary>
internal static class CliJson
{
    public static async Task WriteAsync(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            write(writer);
        }

        await output.WriteLineAsync(Encoding.UTF8.GetString(stream.ToArray())).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
    }
}
