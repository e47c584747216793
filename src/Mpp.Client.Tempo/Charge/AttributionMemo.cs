using Mpp.Client.Tempo.Evm;

namespace Mpp.Client.Tempo.Charge;

/// <summary>
/// The MPP attribution memo reference servers require on a charge without its own memo: a bytes32 of
/// <c>keccak("mpp")[0..4] ‖ 0x01 ‖ keccak(realm)[0..10] ‖ keccak(clientId)[0..10] or zeros ‖ keccak(challengeId)[0..7]</c>.
/// </summary>
internal static class AttributionMemo
{
    private static readonly byte[] Tag = Keccak.Hash("mpp")[..4];

    public static byte[] Create(string realm, string challengeId, string? clientId = null)
    {
        var memo = new byte[32];
        Tag.CopyTo(memo, 0);
        memo[4] = 0x01;
        Keccak.Hash(realm).AsSpan(0, 10).CopyTo(memo.AsSpan(5));
        if (clientId is not null)
        {
            Keccak.Hash(clientId).AsSpan(0, 10).CopyTo(memo.AsSpan(15));
        }

        Keccak.Hash(challengeId).AsSpan(0, 7).CopyTo(memo.AsSpan(25));
        return memo;
    }
}
