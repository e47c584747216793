namespace Mpp.Client;

/// <summary>
/// An exclusive lock shared by processes on one machine: a lock file opened with <see cref="FileShare.None"/>
/// (an advisory <c>flock</c> on Unix, a sharing lock on Windows). Released when disposed or when the process dies.
/// </summary>
internal static class FileLock
{
    public static async ValueTask<FileStream> AcquireAsync(string lockPath, TimeProvider time, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, FileOptions.None);
            }
            catch (IOException) when (time.GetElapsedTime(started) < timeout)
            {
                // Short polls: a long back-off lets a busy process take the lock again and again and starve this one.
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2));
            }
            catch (IOException ex)
            {
                throw new PaymentConfigurationException($"Could not lock '{lockPath}' within {timeout.TotalSeconds} s; another process holds it ({ex.Message}).");
            }
        }
    }

    /// <summary>Replaces a file atomically: write a temporary file beside it, flush it to disk, rename it over the target.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
