using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// A minimal HTTP/1.1 keep-alive server for the CPU floor: <c>GET /?ms=N&amp;pad=B</c> answers 200 after N ms, with a
/// <c>Payment-Receipt</c>-sized header of B bytes when asked. It runs in a process of its own (the bench client starts
/// itself with <c>delay-server</c>), so its CPU never counts against the client measured.
/// </summary>
internal static class DelayServer
{
    /// <summary>Serves until stdin closes; prints the port on stdout first.</summary>
    public static async Task RunAsync()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Console.WriteLine(((IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture));
        Console.Out.Flush();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var socket = await listener.AcceptSocketAsync();
                _ = ServeAsync(socket);
            }
        });
        await Console.In.ReadToEndAsync(); // the parent closes our stdin (or dies): stop
    }

    /// <summary>Starts a delay server child process and returns its base address.</summary>
    public static (Process Process, Uri Address) Start()
    {
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        var entry = typeof(DelayServer).Assembly.Location;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(entry);
        }

        info.ArgumentList.Add("delay-server");
        var process = Process.Start(info)!;
        var port = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the delay server did not start");
        return (process, new Uri($"http://127.0.0.1:{port}/"));
    }

    private static async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        socket.NoDelay = true;
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (true)
            {
                int end;
                while ((end = IndexOfHeaderEnd(buffer.AsSpan(0, filled))) < 0)
                {
                    var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    filled += read;
                }

                var head = Encoding.ASCII.GetString(buffer, 0, end);
                var target = head[(head.IndexOf(' ') + 1)..];
                target = target[..target.IndexOf(' ')];
                var ms = Query(target, "ms");
                var pad = Query(target, "pad");
                if (ms > 0)
                {
                    await Task.Delay(ms);
                }

                var response = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n");
                if (pad > 0)
                {
                    response.Append("Payment-Receipt: ").Append('x', pad).Append("\r\n");
                }

                response.Append("\r\nok");
                await socket.SendAsync(Encoding.ASCII.GetBytes(response.ToString()), SocketFlags.None);
                var consumed = end + 4;
                Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                filled -= consumed;
            }
        }
        catch (SocketException)
        {
        }
    }

    private static int IndexOfHeaderEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);

    private static int Query(string target, string name)
    {
        var at = target.IndexOf(name + "=", StringComparison.Ordinal);
        if (at < 0)
        {
            return 0;
        }

        var digits = target[(at + name.Length + 1)..];
        var stop = digits.IndexOf('&');
        return int.Parse(stop < 0 ? digits : digits[..stop], CultureInfo.InvariantCulture);
    }
}
