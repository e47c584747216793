using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace Mpp.Client.Tempo;

/// <summary>Where a channel is in its life.</summary>
public enum SessionChannelState
{
    /// <summary>The open transaction was signed and sent; the server has not confirmed it (the deposit may or may not be locked).</summary>
    Opening,

    /// <summary>Open and usable.</summary>
    Open,

    /// <summary>A cooperative close was sent; the outcome is not known yet.</summary>
    Closing,

    /// <summary>The payer asked the escrow to close (<c>requestClose</c>); the deposit can be withdrawn after the grace period.</summary>
    CloseRequested,

    /// <summary>Closed on chain; kept for the record.</summary>
    Closed,
}

/// <summary>A budget reservation a channel holds (its deposit and top-ups), kept so a restarted process can settle it.</summary>
/// <param name="Id">The reservation id.</param>
/// <param name="Scope">The budget scope.</param>
/// <param name="Host">The host it was reserved for.</param>
/// <param name="Asset">The asset, as <see cref="AssetId.ToString"/> writes it.</param>
/// <param name="Units">The units held.</param>
/// <param name="CreatedAt">When it was made.</param>
public sealed record ChannelReservation(Guid Id, string Scope, string Host, string Asset, BigInteger Units, DateTimeOffset CreatedAt)
{
    internal SpendReservation ToReservation() => new(Id, Scope, Host, new AssetAmount(AssetId.Parse(Asset), Units), CreatedAt);

    internal static ChannelReservation From(SpendReservation reservation)
        => new(reservation.Id, reservation.Scope, reservation.Host, reservation.Amount.Asset.ToString(), reservation.Amount.Units, reservation.CreatedAt);
}

/// <summary>
/// Everything the client keeps about one payment channel. <see cref="HighestSigned"/> is the authority: the store holds
/// it before any voucher for that amount leaves the process, so a restart never signs lower (design.md §4.4).
/// </summary>
public sealed record SessionChannel
{
    /// <summary>Gets the channel id (0x, lowercase).</summary>
    public required string ChannelId { get; init; }

    /// <summary>Gets the budget scope the channel's money counts against.</summary>
    public required string Scope { get; init; }

    /// <summary>Gets the server origin (<c>scheme://host:port</c>).</summary>
    public required string Origin { get; init; }

    /// <summary>Gets the path of the resource that opened the channel (management requests such as close go there).</summary>
    public required string ResourcePath { get; init; }

    /// <summary>Gets the chain id.</summary>
    public required long ChainId { get; init; }

    /// <summary>Gets the escrow address.</summary>
    public required string Escrow { get; init; }

    /// <summary>Gets the payer (EIP-55).</summary>
    public required string Payer { get; init; }

    /// <summary>Gets the payee, as the challenge spelled it.</summary>
    public required string Payee { get; init; }

    /// <summary>Gets the operator, as the challenge spelled it (zero address when none).</summary>
    public required string Operator { get; init; }

    /// <summary>Gets the token, as the challenge spelled it.</summary>
    public required string Token { get; init; }

    /// <summary>Gets the salt (0x, 32 bytes).</summary>
    public required string Salt { get; init; }

    /// <summary>Gets the voucher signer (EIP-55).</summary>
    public required string AuthorizedSigner { get; init; }

    /// <summary>Gets the expiring-nonce hash of the open transaction (0x, 32 bytes).</summary>
    public required string ExpiringNonceHash { get; init; }

    /// <summary>Gets the deposit locked in the escrow, as far as this client knows (base units).</summary>
    public required BigInteger Deposit { get; init; }

    /// <summary>Gets the highest cumulative amount ever signed for this channel (base units).</summary>
    public required BigInteger HighestSigned { get; init; }

    /// <summary>Gets the highest cumulative amount the server said it accepted (never above <see cref="HighestSigned"/>).</summary>
    public BigInteger Accepted { get; init; }

    /// <summary>Gets what the server said was spent on the channel.</summary>
    public BigInteger Spent { get; init; }

    /// <summary>Gets the state.</summary>
    public required SessionChannelState State { get; init; }

    /// <summary>Gets the budget reservations the channel holds.</summary>
    public IReadOnlyList<ChannelReservation> Reservations { get; init; } = [];

    /// <summary>Gets the last second (unix) at which the open (or a pending top-up) transaction can still be included.</summary>
    public long PendingValidBefore { get; init; }

    /// <summary>Gets when the payer requested the close on chain (unix seconds), or 0.</summary>
    public long CloseRequestedAt { get; init; }

    /// <summary>Gets the transaction that closed the channel, once known.</summary>
    public string? CloseTransaction { get; init; }

    /// <summary>Gets what the payee received at close.</summary>
    public BigInteger? SettledToPayee { get; init; }

    /// <summary>Gets what came back to the payer at close.</summary>
    public BigInteger? RefundedToPayer { get; init; }

    /// <summary>Gets when the channel was opened.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Gets when a voucher was last signed.</summary>
    public DateTimeOffset LastUsedAt { get; init; }

    /// <summary>Gets what the channel still has for vouchers.</summary>
    public BigInteger Available => Deposit - HighestSigned;

    /// <summary>Writes the channel as one JSON object.</summary>
    /// <returns>UTF-8 JSON.</returns>
    public byte[] ToJsonUtf8()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", 1);
            writer.WriteString("channelId", ChannelId);
            writer.WriteString("scope", Scope);
            writer.WriteString("origin", Origin);
            writer.WriteString("resourcePath", ResourcePath);
            writer.WriteNumber("chainId", ChainId);
            writer.WriteString("escrow", Escrow);
            writer.WriteString("payer", Payer);
            writer.WriteString("payee", Payee);
            writer.WriteString("operator", Operator);
            writer.WriteString("token", Token);
            writer.WriteString("salt", Salt);
            writer.WriteString("authorizedSigner", AuthorizedSigner);
            writer.WriteString("expiringNonceHash", ExpiringNonceHash);
            writer.WriteString("deposit", Text(Deposit));
            writer.WriteString("highestSigned", Text(HighestSigned));
            writer.WriteString("accepted", Text(Accepted));
            writer.WriteString("spent", Text(Spent));
            writer.WriteString("state", State.ToString());
            writer.WriteStartArray("reservations");
            foreach (var r in Reservations)
            {
                writer.WriteStartObject();
                writer.WriteString("id", r.Id);
                writer.WriteString("scope", r.Scope);
                writer.WriteString("host", r.Host);
                writer.WriteString("asset", r.Asset);
                writer.WriteString("units", Text(r.Units));
                writer.WriteString("createdAt", r.CreatedAt);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteNumber("pendingValidBefore", PendingValidBefore);
            writer.WriteNumber("closeRequestedAt", CloseRequestedAt);
            if (CloseTransaction is not null)
            {
                writer.WriteString("closeTransaction", CloseTransaction);
            }

            if (SettledToPayee is { } settled)
            {
                writer.WriteString("settledToPayee", Text(settled));
            }

            if (RefundedToPayer is { } refunded)
            {
                writer.WriteString("refundedToPayer", Text(refunded));
            }

            writer.WriteString("createdAt", CreatedAt);
            writer.WriteString("lastUsedAt", LastUsedAt);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a channel written by <see cref="ToJsonUtf8"/>.</summary>
    /// <param name="utf8">The JSON.</param>
    /// <returns>The channel.</returns>
    /// <exception cref="FormatException">The JSON is not a channel record.</exception>
    public static SessionChannel FromJsonUtf8(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return new SessionChannel
            {
                ChannelId = root.GetProperty("channelId").GetString()!,
                Scope = root.GetProperty("scope").GetString()!,
                Origin = root.GetProperty("origin").GetString()!,
                ResourcePath = root.GetProperty("resourcePath").GetString()!,
                ChainId = root.GetProperty("chainId").GetInt64(),
                Escrow = root.GetProperty("escrow").GetString()!,
                Payer = root.GetProperty("payer").GetString()!,
                Payee = root.GetProperty("payee").GetString()!,
                Operator = root.GetProperty("operator").GetString()!,
                Token = root.GetProperty("token").GetString()!,
                Salt = root.GetProperty("salt").GetString()!,
                AuthorizedSigner = root.GetProperty("authorizedSigner").GetString()!,
                ExpiringNonceHash = root.GetProperty("expiringNonceHash").GetString()!,
                Deposit = Units(root, "deposit"),
                HighestSigned = Units(root, "highestSigned"),
                Accepted = Units(root, "accepted"),
                Spent = Units(root, "spent"),
                State = Enum.Parse<SessionChannelState>(root.GetProperty("state").GetString()!),
                Reservations = [.. root.GetProperty("reservations").EnumerateArray().Select(r => new ChannelReservation(
                    r.GetProperty("id").GetGuid(), r.GetProperty("scope").GetString()!, r.GetProperty("host").GetString()!, r.GetProperty("asset").GetString()!, Units(r, "units"), r.GetProperty("createdAt").GetDateTimeOffset()))],
                PendingValidBefore = root.GetProperty("pendingValidBefore").GetInt64(),
                CloseRequestedAt = root.GetProperty("closeRequestedAt").GetInt64(),
                CloseTransaction = root.TryGetProperty("closeTransaction", out var tx) ? tx.GetString() : null,
                SettledToPayee = root.TryGetProperty("settledToPayee", out _) ? Units(root, "settledToPayee") : null,
                RefundedToPayer = root.TryGetProperty("refundedToPayer", out _) ? Units(root, "refundedToPayer") : null,
                CreatedAt = root.GetProperty("createdAt").GetDateTimeOffset(),
                LastUsedAt = root.GetProperty("lastUsedAt").GetDateTimeOffset(),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new FormatException("The channel record is not valid: " + ex.Message, ex);
        }
    }

    private static string Text(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    private static BigInteger Units(JsonElement obj, string name) => BigInteger.Parse(obj.GetProperty(name).GetString()!, NumberStyles.None, CultureInfo.InvariantCulture);
}
