namespace Mpp.Client.Storage.Tests;

/// <summary>Journal entries and receipts as the payment handler writes them, for tests of the stores.</summary>
internal static class Records
{
    private static readonly string Coin = AssetId.Fiat("xts").ToString();

    /// <summary>A pending journal entry with a time-ordered id, written now.</summary>
    public static JournalEntry Pending(string challengeId = "ch", string amount = "10")
        => new(TimeOrderedId.New(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, "c", "https://api.example.com", "/paid", challengeId, "test", "charge", Coin, amount, new string('d', 64), JournalState.Pending, null);

    /// <summary>A receipt recorded now.</summary>
    public static StoredReceipt Receipt(string reference, string challengeId = "ch", string amount = "10")
        => new(DateTimeOffset.UtcNow, "c", "https://api.example.com", "/paid", challengeId, "test", "charge", Coin, amount, reference, "{}");
}
