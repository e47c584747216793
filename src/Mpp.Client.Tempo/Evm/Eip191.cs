using System.Globalization;
using System.Text;

namespace Mpp.Client.Tempo.Evm;

/// <summary>EIP-191 version 0x45 ("personal_sign"): <c>keccak256("\x19Ethereum Signed Message:\n" + length ‖ message)</c>.</summary>
internal static class Eip191
{
    public static byte[] Hash(ReadOnlySpan<byte> message)
    {
        // "\u0019", not "\x19": C#'s \x takes up to four hex digits and would swallow the "E".
        var prefix = Encoding.ASCII.GetBytes("\u0019Ethereum Signed Message:\n" + message.Length.ToString(CultureInfo.InvariantCulture));
        return Keccak.Hash([.. prefix, .. message]);
    }
}
