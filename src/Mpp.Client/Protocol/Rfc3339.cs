using System.Globalization;

namespace Mpp.Client.Protocol;

/// <summary>RFC 3339 <c>date-time</c> parsing (strict) and the formatting MPP servers use.</summary>
internal static class Rfc3339
{
    /// <summary>Parses <c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)</c>; <c>T</c> and <c>Z</c> in either case.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length < 20)
        {
            return false;
        }

        if (!TryDigits(s, 0, 4, out var year) || s[4] != '-' ||
            !TryDigits(s, 5, 2, out var month) || s[7] != '-' ||
            !TryDigits(s, 8, 2, out var day) || (s[10] != 'T' && s[10] != 't') ||
            !TryDigits(s, 11, 2, out var hour) || s[13] != ':' ||
            !TryDigits(s, 14, 2, out var minute) || s[16] != ':' ||
            !TryDigits(s, 17, 2, out var second))
        {
            return false;
        }

        var i = 19;
        long fractionTicks = 0;
        if (s[i] == '.')
        {
            i++;
            var start = i;
            long scale = TimeSpan.TicksPerSecond;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                scale /= 10;
                fractionTicks += (s[i] - '0') * scale;
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        if (i >= s.Length)
        {
            return false;
        }

        int offsetMinutes;
        if (s[i] is 'Z' or 'z')
        {
            offsetMinutes = 0;
            i++;
        }
        else if (s[i] is '+' or '-')
        {
            if (s.Length - i != 6 || !TryDigits(s, i + 1, 2, out var offH) || s[i + 3] != ':' || !TryDigits(s, i + 4, 2, out var offM) || offH > 23 || offM > 59)
            {
                return false;
            }

            offsetMinutes = ((offH * 60) + offM) * (s[i] == '-' ? -1 : 1);
            i += 6;
        }
        else
        {
            return false;
        }

        if (i != s.Length)
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var localTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks;
        var offset = TimeSpan.FromMinutes(offsetMinutes);
        var utcTicks = localTicks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            return false;
        }

        value = new DateTimeOffset(localTicks, offset);
        return true;
    }

    /// <summary>Formats as UTC with milliseconds, the form mppx servers emit: <c>2026-01-01T00:05:00.000Z</c>.</summary>
    public static string Format(DateTimeOffset value)
        => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static bool TryDigits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var c = s[i];
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
