using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Mpp.Client;

/// <summary>
/// Who holds a reservation or a channel lease in a shared store: <c>host/pid/process-start-ms/nonce</c>. The nonce makes two
/// stores in one process two owners; host, pid and start time let a process on the same machine tell that an owner died.
/// </summary>
internal static class StoreOwner
{
    private static readonly Lazy<string> ProcessPart = new(() =>
    {
        using var self = Process.GetCurrentProcess();
        return string.Join('/', Host, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), StartMs(self).ToString(CultureInfo.InvariantCulture));
    });

    private static string Host => Environment.MachineName.Replace('/', '_');

    /// <summary>A new owner id for this process.</summary>
    public static string NewId() => ProcessPart.Value + "/" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();

    /// <summary>
    /// Whether <paramref name="owner"/> was a process on this machine that no longer runs (its pid is gone or belongs to a
    /// later process). Owners on other hosts, and anything unreadable, count as alive: their leases end by expiry only.
    /// </summary>
    public static bool IsDeadOnThisMachine(string owner)
    {
        var parts = owner.Split('/');
        if (parts.Length != 4 || parts[0] != Host
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var startedMs))
        {
            return false;
        }

        if (pid == Environment.ProcessId)
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return Math.Abs(StartMs(process) - startedMs) > 1000 || process.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false; // cannot tell: treat as alive
        }
    }

    private static long StartMs(Process process) => new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
}
