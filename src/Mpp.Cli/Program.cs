using Mpp.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C cancels the command cleanly (a payment in flight is journaled as unknown, never repeated).
    e.Cancel = true;
    cancel.Cancel();
};
return await MppCli.RunAsync(args, CliEnvironment.FromProcess(), cancel.Token).ConfigureAwait(false);
