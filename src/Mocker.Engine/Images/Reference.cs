using System.Text.RegularExpressions;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Images;

/// <summary>
/// A normalised Docker image reference (github.com/distribution/reference, normalize.go / regexp.go):
/// "busybox" → docker.io/library/busybox, "user/x" → docker.io/user/x, "host:5000/a/b:tag", "name@sha256:…".
/// <see cref="ToString"/> gives the full normalised form, <see cref="FamiliarString"/> the short form Docker displays.
/// </summary>
public sealed partial record Reference
{
    public const string DefaultDomain = "docker.io";
    public const string DefaultTag = "latest";
    private const string LegacyDomain = "index.docker.io";
    private const string OfficialRepoPrefix = "library/";
    private const int NameMaxLength = 255;

    /// <summary>Registry host (with port), e.g. "docker.io", "127.0.0.1:5000".</summary>
    public string Domain { get; }
    /// <summary>Repository path inside the registry, e.g. "library/busybox".</summary>
    public string Path { get; }
    public string? Tag { get; }
    /// <summary>"sha256:…" when the reference is pinned by digest.</summary>
    public string? Digest { get; }

    private Reference(string domain, string path, string? tag, string? digest)
    {
        Domain = domain;
        Path = path;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>"docker.io/library/busybox".</summary>
    public string Name => Domain + "/" + Path;

    /// <summary>"busybox", "user/x", "127.0.0.1:5000/x/y" (distribution/reference FamiliarName).</summary>
    public string FamiliarName
    {
        get
        {
            if (Domain != DefaultDomain)
            {
                return Name;
            }
            return Path.StartsWith(OfficialRepoPrefix, StringComparison.Ordinal) && Path.IndexOf('/', OfficialRepoPrefix.Length) < 0
                ? Path[OfficialRepoPrefix.Length..]
                : Path;
        }
    }

    /// <summary>"busybox:latest", "127.0.0.1:5000/x/y:1", "busybox@sha256:…".</summary>
    public string FamiliarString() => FamiliarName + Suffix;

    /// <summary>Full normalised form: "docker.io/library/busybox:latest".</summary>
    public override string ToString() => Name + Suffix;

    private string Suffix => (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    /// <summary>The same repository with <paramref name="tag"/> (and no digest). Throws InvalidArgument for a malformed tag.</summary>
    public Reference WithTag(string tag)
    {
        if (!TagRegex().IsMatch(tag))
        {
            throw MockerException.InvalidArgument("invalid reference format");
        }
        return new Reference(Domain, Path, tag, null);
    }

    /// <summary>The same repository with a digest (and no tag).</summary>
    public Reference WithDigest(string digest) => new(Domain, Path, null, digest);

    /// <summary>The repository alone.</summary>
    public Reference NameOnly() => new(Domain, Path, null, null);

    /// <summary>Adds ":latest" when neither tag nor digest is present (distribution/reference TagNameOnly).</summary>
    public Reference WithDefaultTag() => Tag is null && Digest is null ? new Reference(Domain, Path, DefaultTag, null) : this;

    /// <summary>
    /// Parses a familiar or normalised reference (ParseNormalizedNamed). Errors, worded as Docker's:
    /// "invalid reference format", "invalid reference format: repository name must be lowercase",
    /// "invalid repository name (…), cannot specify 64-byte hexadecimal strings".
    /// </summary>
    public static Reference Parse(string text)
    {
        if (TryParse(text, out var reference, out var error))
        {
            return reference;
        }
        throw MockerException.InvalidArgument(error);
    }

    public static bool TryParse(string text, out Reference reference, out string error)
    {
        reference = null!;
        if (IdentifierRegex().IsMatch(text))
        {
            error = $"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings";
            return false;
        }
        var (domain, remainder) = SplitDockerDomain(text);
        var tagSep = remainder.IndexOf(':');
        var remoteName = tagSep > -1 ? remainder[..tagSep] : remainder;
        if (!string.Equals(remoteName.ToLowerInvariant(), remoteName, StringComparison.Ordinal))
        {
            error = "invalid reference format: repository name must be lowercase";
            return false;
        }
        var m = ReferenceRegex().Match(domain + "/" + remainder);
        if (!m.Success || text.Length == 0)
        {
            error = "invalid reference format";
            return false;
        }
        var name = m.Groups["name"].Value;
        if (name.Length > NameMaxLength)
        {
            error = $"repository name must not be more than {NameMaxLength} characters";
            return false;
        }
        string? digest = m.Groups["digest"].Success ? m.Groups["digest"].Value : null;
        if (digest is not null && !Content.Digest.TryParse(digest, out _))
        {
            error = "invalid reference format";
            return false;
        }
        var slash = name.IndexOf('/');
        reference = new Reference(name[..slash], name[(slash + 1)..], m.Groups["tag"].Success ? m.Groups["tag"].Value : null, digest);
        error = "";
        return true;
    }

    /// <summary>
    /// Matches a reference against a "reference" filter pattern (distribution/reference FamiliarMatch: Go path.Match
    /// on the familiar string, then on the familiar name).
    /// </summary>
    public bool FamiliarMatch(string pattern)
    {
        var regex = new Regex("^" + GlobToRegex(pattern) + "$", RegexOptions.CultureInvariant);
        return regex.IsMatch(FamiliarString()) || regex.IsMatch(FamiliarName);
    }

    private static string GlobToRegex(string pattern)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    sb.Append("[^/]*");
                    break;
                case '?':
                    sb.Append("[^/]");
                    break;
                case '[':
                    var end = pattern.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        sb.Append(@"\[");
                        break;
                    }
                    var cls = pattern[(i + 1)..end];
                    sb.Append('[').Append(cls.StartsWith('^') ? "^" + Regex.Escape(cls[1..]) : Regex.Escape(cls)).Append(']');
                    i = end;
                    break;
                case '\\' when i + 1 < pattern.Length:
                    sb.Append(Regex.Escape(pattern[++i].ToString()));
                    break;
                default:
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }
        return sb.ToString();
    }

    private static (string Domain, string Remainder) SplitDockerDomain(string name)
    {
        string domain, remainder;
        var i = name.IndexOf('/');
        if (i == -1 || (name[..i].IndexOfAny(['.', ':']) < 0 && name[..i] != "localhost" && name[..i].ToLowerInvariant() == name[..i]))
        {
            domain = DefaultDomain;
            remainder = name;
        }
        else
        {
            domain = name[..i];
            remainder = name[(i + 1)..];
        }
        if (domain == LegacyDomain)
        {
            domain = DefaultDomain;
        }
        if (domain == DefaultDomain && !remainder.Contains('/'))
        {
            remainder = OfficialRepoPrefix + remainder;
        }
        return (domain, remainder);
    }

    private const string Alnum = "[a-z0-9]+";
    private const string Separator = "(?:[._]|__|[-]+)";
    private const string PathComponent = Alnum + "(?:" + Separator + Alnum + ")*";
    private const string DomainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private const string DomainPattern = "(?:" + DomainComponent + @"(?:\." + DomainComponent + @")*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?";
    private const string TagPattern = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    private const string DigestPattern = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}";

    [GeneratedRegex("^(?<name>" + DomainPattern + "/" + PathComponent + "(?:/" + PathComponent + ")*)(?::(?<tag>" + TagPattern + "))?(?:@(?<digest>" + DigestPattern + "))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferenceRegex();

    [GeneratedRegex("^" + TagPattern + "$", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    [GeneratedRegex("^[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierRegex();
}
