using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mocker.Engine.State;

namespace Mocker.Engine.Build;

/// <summary>
/// The build cache (table build_cache): key = sha256 over the parent image ID and the step's inputs (expanded
/// instruction, build args in use, content checksums of COPY sources), value = the intermediate image ID the step made.
/// </summary>
public sealed class BuildCache(MetadataDb db)
{
    /// <summary>sha256 hex of the length-prefixed parts (so "ab"+"c" and "a"+"bc" differ).</summary>
    public static string ComputeKey(string? parentImageId, IEnumerable<string> parts)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            h.AppendData(Encoding.ASCII.GetBytes(bytes.Length.ToString(CultureInfo.InvariantCulture) + ":"));
            h.AppendData(bytes);
        }
        Add(parentImageId ?? "scratch");
        foreach (var p in parts)
        {
            Add(p);
        }
        return "sha256:" + Convert.ToHexStringLower(h.GetHashAndReset());
    }

    public async Task<string?> LookupAsync(string key, CancellationToken ct)
    {
        await using var conn = db.Open();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT image_id FROM build_cache WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", key);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
    }

    public Task StoreAsync(string key, string imageId, CancellationToken ct) =>
        db.InTransactionAsync(async (conn, tx) =>
        {
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT OR REPLACE INTO build_cache (key, image_id, created_at) VALUES ($k, $i, $t)";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$i", imageId);
            cmd.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, ct);
}
