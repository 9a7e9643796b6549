using System.Text;

namespace Mocker.Engine.Distribution;

/// <summary>
/// One challenge of a <c>WWW-Authenticate</c> header (RFC 7235 §4.1; distribution registry/client/auth/challenge):
/// the scheme ("bearer", "basic"; lowercased) and its auth-params (keys lowercased, quoted values unescaped),
/// e.g. Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull".
/// </summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>Parses every challenge in the header value; malformed trailing input is ignored, as Docker's parser does.</summary>
    public static IReadOnlyList<AuthChallenge> Parse(string header)
    {
        var result = new List<AuthChallenge>();
        var i = 0;
        while (i < header.Length)
        {
            SkipSpacesAndCommas(header, ref i);
            var scheme = ReadToken(header, ref i);
            if (scheme.Length == 0)
            {
                break;
            }
            var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpaces(header, ref i);
                var save = i;
                var key = ReadToken(header, ref i);
                SkipSpaces(header, ref i);
                if (key.Length == 0 || i >= header.Length || header[i] != '=')
                {
                    // Not a parameter: the start of the next challenge.
                    i = save;
                    break;
                }
                i++;
                SkipSpaces(header, ref i);
                var value = i < header.Length && header[i] == '"' ? ReadQuoted(header, ref i) : ReadToken(header, ref i);
                parameters[key.ToLowerInvariant()] = value;
                SkipSpaces(header, ref i);
                if (i < header.Length && header[i] == ',')
                {
                    i++;
                    continue;
                }
                break;
            }
            result.Add(new AuthChallenge(scheme.ToLowerInvariant(), parameters));
        }
        return result;
    }

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && (s[i] == ' ' || s[i] == '\t'))
        {
            i++;
        }
    }

    private static void SkipSpacesAndCommas(string s, ref int i)
    {
        while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
        {
            i++;
        }
    }

    private static string ReadToken(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && s[i] > ' ' && s[i] < 127 && "\"(),/:;<=>?@[\\]{}".IndexOf(s[i]) < 0)
        {
            i++;
        }
        return s[start..i];
    }

    private static string ReadQuoted(string s, ref int i)
    {
        var sb = new StringBuilder();
        i++;
        while (i < s.Length && s[i] != '"')
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                i++;
            }
            sb.Append(s[i]);
            i++;
        }
        if (i < s.Length)
        {
            i++;
        }
        return sb.ToString();
    }
}
