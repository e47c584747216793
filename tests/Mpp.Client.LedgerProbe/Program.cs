// A second process for the cross-process ledger test: reserves and commits against a shared file
// ledger until the budget refuses, then prints how many reservations it got.
// Usage: Mpp.Client.LedgerProbe <ledger path> <total units> <units per reservation> <start-signal file> <ready file>
using System.Globalization;
using System.Numerics;
using Mpp.Client;

var path = args[0];
var total = BigInteger.Parse(args[1], CultureInfo.InvariantCulture);
var amount = BigInteger.Parse(args[2], CultureInfo.InvariantCulture);
var startSignal = args[3];
File.WriteAllText(args[4], "ready");

// Start together with the other probe, so the two really contend.
while (!File.Exists(startSignal))
{
    await Task.Delay(5);
}

var asset = AssetId.Fiat("xts");
using var ledger = new FileSpendLedger(path, TimeProvider.System);
var limit = new SpendLimit(asset, total: total);
var granted = 0;
while (true)
{
    var result = await ledger.TryReserveAsync(new SpendRequest("shared", "example.com", new AssetAmount(asset, amount), amount, limit, "probe"), CancellationToken.None);
    if (!result.Succeeded)
    {
        break;
    }

    granted++;
    await Task.Delay(1); // the paid request, between the reservation and its commit
    await ledger.CommitAsync(result.Reservation, CancellationToken.None);
}

Console.WriteLine(granted.ToString(CultureInfo.InvariantCulture));
