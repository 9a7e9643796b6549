using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Mocker.Engine.Content;
using Mocker.Engine.Errors;
using Mocker.Engine.State;

namespace Mocker.Engine.Images;

/// <summary>
/// <see cref="IImageStore"/> over the <c>images</c> and <c>image_refs</c> tables. Lookup order follows Docker's
/// daemon/images GetImage: an ID-shaped digest or 64-hex string is an ID; otherwise a normalised reference
/// (":latest" added), then a unique ID prefix.
/// </summary>
public sealed class ImageStore(MetadataDb db) : IImageStore
{
    private const int KindTag = 0;
    private const int KindDigest = 1;

    public async Task<ImageRecord?> FindAsync(string nameOrId, CancellationToken ct)
    {
        await using var conn = db.Open();
        var id = await ResolveIdAsync(conn, nameOrId, ct).ConfigureAwait(false);
        return id is null ? null : await LoadAsync(conn, id, ct).ConfigureAwait(false);
    }

    public async Task<ImageRecord> GetAsync(string nameOrId, CancellationToken ct) =>
        await FindAsync(nameOrId, ct).ConfigureAwait(false) ?? throw MockerException.NoSuchImage(DisplayName(nameOrId));

    /// <summary>How Docker names a missing image: references get their default tag ("nosuch" → "nosuch:latest").</summary>
    public static string DisplayName(string nameOrId) =>
        IsIdLike(nameOrId) || !Reference.TryParse(nameOrId, out var r, out _) ? nameOrId : r.WithDefaultTag().FamiliarString();

    public async Task<IReadOnlyList<ImageRecord>> ListAsync(CancellationToken ct)
    {
        await using var conn = db.Open();
        var ids = new List<string>();
        await using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT id FROM images ORDER BY created_at DESC";
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                ids.Add(reader.GetString(0));
            }
        }
        var list = new List<ImageRecord>(ids.Count);
        foreach (var id in ids)
        {
            if (await LoadAsync(conn, id, ct).ConfigureAwait(false) is { } rec)
            {
                list.Add(rec);
            }
        }
        return list;
    }

    public Task PutAsync(ImageRecord image, IReadOnlyList<string> tags, CancellationToken ct) =>
        db.InTransactionAsync(async (conn, tx) =>
        {
            await using (var cmd = conn.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO images (id, manifest_digest, config_json, top_chain_id, size, created_at, parent)
                    VALUES ($id, $manifest, $config, $top, $size, $created, $parent)
                    ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, config_json = excluded.config_json,
                        top_chain_id = excluded.top_chain_id, size = excluded.size, parent = COALESCE(images.parent, excluded.parent)
                    """;
                cmd.Parameters.AddWithValue("$id", image.Id.ToString());
                cmd.Parameters.AddWithValue("$manifest", image.ManifestDigest.ToString());
                cmd.Parameters.AddWithValue("$config", JsonSerializer.Serialize(image.Config, OciJsonContext.Default.ImageConfig));
                cmd.Parameters.AddWithValue("$top", (object?)image.TopChainId ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$size", image.Size);
                cmd.Parameters.AddWithValue("$created", Timestamp(image.CreatedAt == default ? DateTimeOffset.UtcNow : image.CreatedAt));
                cmd.Parameters.AddWithValue("$parent", image.Parent is { } p ? p.ToString() : DBNull.Value);
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            foreach (var tag in tags)
            {
                await SetRefAsync(conn, tx, image.Id, tag, ct).ConfigureAwait(false);
            }
            foreach (var digestRef in image.RepoDigests)
            {
                await SetRefAsync(conn, tx, image.Id, digestRef, ct).ConfigureAwait(false);
            }
            return true;
        }, ct);

    public Task TagAsync(Digest imageId, string reference, CancellationToken ct) =>
        db.InTransactionAsync(async (conn, tx) =>
        {
            await SetRefAsync(conn, tx, imageId, reference, ct).ConfigureAwait(false);
            return true;
        }, ct);

    public Task<bool> UntagAsync(string reference, CancellationToken ct) =>
        db.InTransactionAsync(async (conn, tx) =>
        {
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM image_refs WHERE reference = $ref";
            cmd.Parameters.AddWithValue("$ref", NormaliseRef(reference));
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
        }, ct);

    public Task DeleteAsync(Digest imageId, CancellationToken ct) =>
        db.InTransactionAsync(async (conn, tx) =>
        {
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM image_refs WHERE image_id = $id; DELETE FROM images WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", imageId.ToString());
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }, ct);

    private static async Task SetRefAsync(SqliteConnection conn, SqliteTransaction tx, Digest imageId, string reference, CancellationToken ct)
    {
        var normalised = NormaliseRef(reference);
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO image_refs (reference, image_id, kind, created_at) VALUES ($ref, $id, $kind, $created)
            ON CONFLICT(reference) DO UPDATE SET image_id = excluded.image_id, created_at = excluded.created_at
            """;
        cmd.Parameters.AddWithValue("$ref", normalised);
        cmd.Parameters.AddWithValue("$id", imageId.ToString());
        cmd.Parameters.AddWithValue("$kind", normalised.Contains('@') ? KindDigest : KindTag);
        cmd.Parameters.AddWithValue("$created", Timestamp(DateTimeOffset.UtcNow));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static string NormaliseRef(string reference) => Reference.Parse(reference).WithDefaultTag().ToString();

    private static bool IsIdLike(string s) =>
        Digest.TryParse(s, out _) || (s.Length == 64 && s.All(char.IsAsciiHexDigitLower));

    private static async Task<string?> ResolveIdAsync(SqliteConnection conn, string nameOrId, CancellationToken ct)
    {
        if (IsIdLike(nameOrId))
        {
            var id = nameOrId.StartsWith(Digest.Sha256Prefix, StringComparison.Ordinal) ? nameOrId : Digest.Sha256Prefix + nameOrId;
            return await ScalarAsync(conn, "SELECT id FROM images WHERE id = $p", id, ct).ConfigureAwait(false);
        }
        var reference = Reference.Parse(nameOrId).WithDefaultTag();
        if (await ScalarAsync(conn, "SELECT image_id FROM image_refs WHERE reference = $p", reference.ToString(), ct).ConfigureAwait(false) is { } byRef)
        {
            return byRef;
        }
        var prefix = nameOrId.StartsWith(Digest.Sha256Prefix, StringComparison.Ordinal) ? nameOrId[Digest.Sha256Prefix.Length..] : nameOrId;
        if (prefix.Length == 0 || !prefix.All(char.IsAsciiHexDigitLower))
        {
            return null;
        }
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id FROM images WHERE substr(id, 8, $n) = $p LIMIT 2";
        cmd.Parameters.AddWithValue("$n", prefix.Length);
        cmd.Parameters.AddWithValue("$p", prefix);
        var matches = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            matches.Add(reader.GetString(0));
        }
        // An ambiguous prefix resolves to nothing, as Docker's digest set lookup does.
        return matches.Count == 1 ? matches[0] : null;
    }

    private static async Task<string?> ScalarAsync(SqliteConnection conn, string sql, string p, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$p", p);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
    }

    private static async Task<ImageRecord?> LoadAsync(SqliteConnection conn, string id, CancellationToken ct)
    {
        ImageRecord rec;
        await using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT id, manifest_digest, config_json, top_chain_id, size, created_at, parent FROM images WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (!await r.ReadAsync(ct).ConfigureAwait(false))
            {
                return null;
            }
            rec = new ImageRecord
            {
                Id = Digest.Parse(r.GetString(0)),
                ManifestDigest = Digest.Parse(r.GetString(1)),
                Config = JsonSerializer.Deserialize(r.GetString(2), OciJsonContext.Default.ImageConfig)!,
                TopChainId = r.IsDBNull(3) ? null : r.GetString(3),
                Size = r.GetInt64(4),
                CreatedAt = DateTimeOffset.Parse(r.GetString(5), CultureInfo.InvariantCulture),
                Parent = r.IsDBNull(6) ? null : Digest.Parse(r.GetString(6)),
            };
        }
        var tags = new List<string>();
        var digests = new List<string>();
        DateTimeOffset? lastTag = null;
        await using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT reference, kind, created_at FROM image_refs WHERE image_id = $id ORDER BY reference";
            cmd.Parameters.AddWithValue("$id", id);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                (r.GetInt32(1) == KindDigest ? digests : tags).Add(r.GetString(0));
                var at = DateTimeOffset.Parse(r.GetString(2), CultureInfo.InvariantCulture);
                lastTag = lastTag is { } l && l > at ? l : at;
            }
        }
        return rec with { Tags = tags, RepoDigests = digests, LastTagTime = lastTag };
    }

    private static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
