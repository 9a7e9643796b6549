using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mocker.Engine.Errors;

namespace Mocker.Engine.Content;

/// <summary>
/// A content digest "algorithm:hex" (OCI image-spec descriptor.md, "Digests"). Only sha256 is produced;
/// parsing validates the algorithm and a 64-char lowercase hex encoding.
/// </summary>
[JsonConverter(typeof(DigestJsonConverter))]
public readonly record struct Digest
{
    public const string Sha256Prefix = "sha256:";

    /// <summary>The 64 lowercase hex characters of the sha256 sum.</summary>
    public string Hex { get; }

    private Digest(string hex) => Hex = hex;

    public string Algorithm => "sha256";

    /// <summary>"sha256:" + <see cref="Hex"/>.</summary>
    public override string ToString() => Sha256Prefix + Hex;

    /// <summary>The first 12 hex characters, as Docker shows short IDs.</summary>
    public string Short => Hex[..12];

    /// <summary>Parses "sha256:&lt;64 hex&gt;". Throws <see cref="MockerException"/> (InvalidArgument) otherwise.</summary>
    public static Digest Parse(string text)
    {
        if (TryParse(text, out var d))
        {
            return d;
        }
        throw MockerException.InvalidArgument($"invalid digest \"{text}\": expected sha256:<64 lowercase hex characters>");
    }

    public static bool TryParse(string? text, out Digest digest)
    {
        digest = default;
        if (text is null || !text.StartsWith(Sha256Prefix, StringComparison.Ordinal) || text.Length != Sha256Prefix.Length + 64)
        {
            return false;
        }
        var hex = text[Sha256Prefix.Length..];
        foreach (var c in hex)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }
        digest = new Digest(hex);
        return true;
    }

    /// <summary>Wraps a raw sha256 hash (32 bytes).</summary>
    public static Digest FromHash(ReadOnlySpan<byte> sha256) => new(Convert.ToHexStringLower(sha256));

    public static Digest Compute(ReadOnlySpan<byte> data) => FromHash(SHA256.HashData(data));

    public static async Task<Digest> ComputeAsync(Stream data, CancellationToken ct) =>
        FromHash(await SHA256.HashDataAsync(data, ct).ConfigureAwait(false));
}

internal sealed class DigestJsonConverter : JsonConverter<Digest>
{
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Digest.Parse(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
