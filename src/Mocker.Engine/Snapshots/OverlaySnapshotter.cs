using System.Globalization;
using Microsoft.Data.Sqlite;
using Mocker.Engine.Errors;
using Mocker.Engine.State;

namespace Mocker.Engine.Snapshots;

/// <summary>
/// <see cref="ISnapshotter"/> on overlayfs, laid out like containerd's overlay snapshotter: each snapshot owns
/// &lt;SnapshotsRoot&gt;/&lt;n&gt;/fs (its changes) and &lt;n&gt;/work (overlay workdir, active snapshots only). Numeric
/// directory names keep the lowerdir option short (mount data is limited to one page). Metadata lives in table
/// <c>snapshots</c>; a directory not recorded there is a crash leftover that <see cref="CleanupAsync"/> removes.
/// </summary>
public sealed class OverlaySnapshotter : ISnapshotter
{
    private readonly MetadataDb _db;
    private readonly string _root;

    public OverlaySnapshotter(EngineOptions options, MetadataDb db)
    {
        _db = db;
        _root = options.SnapshotsRoot;
        Directory.CreateDirectory(_root);
    }

    private sealed record Row(string Key, long Id, string? Parent, SnapshotKind Kind, DateTimeOffset Created);

    public async Task<SnapshotInfo?> StatAsync(string key, CancellationToken ct)
    {
        await using var conn = _db.Open();
        var row = await GetRowAsync(conn, null, key, ct).ConfigureAwait(false);
        return row is null ? null : ToInfo(row);
    }

    public Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken ct) =>
        CreateAsync(key, parent, SnapshotKind.Active, ct);

    public Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken ct) =>
        CreateAsync(key, parent, SnapshotKind.View, ct);

    public async Task<IReadOnlyList<Mount>> MountsAsync(string key, CancellationToken ct)
    {
        await using var conn = _db.Open();
        var row = await GetRowAsync(conn, null, key, ct).ConfigureAwait(false) ?? throw NotFound(key);
        return await MountsForAsync(conn, null, row, ct).ConfigureAwait(false);
    }

    public async Task CommitAsync(string name, string key, CancellationToken ct)
    {
        var id = await _db.InTransactionAsync(async (conn, tx) =>
        {
            var row = await GetRowAsync(conn, tx, key, ct).ConfigureAwait(false) ?? throw NotFound(key);
            if (row.Kind != SnapshotKind.Active)
            {
                throw MockerException.InvalidArgument($"snapshot {key} is not active: failed precondition");
            }
            if (await GetRowAsync(conn, tx, name, ct).ConfigureAwait(false) is not null)
            {
                throw MockerException.Conflict($"snapshot {name}: already exists");
            }
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE snapshots SET key = $name, kind = $kind WHERE key = $key";
            cmd.Parameters.AddWithValue("$name", name);
            cmd.Parameters.AddWithValue("$kind", (int)SnapshotKind.Committed);
            cmd.Parameters.AddWithValue("$key", key);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return row.Id;
        }, ct).ConfigureAwait(false);
        DeleteDir(WorkDir(id));
    }

    public async Task RemoveAsync(string key, CancellationToken ct)
    {
        var id = await _db.InTransactionAsync(async (conn, tx) =>
        {
            var row = await GetRowAsync(conn, tx, key, ct).ConfigureAwait(false);
            if (row is null)
            {
                return (long?)null;
            }
            await using var children = conn.CreateCommand();
            children.Transaction = tx;
            children.CommandText = "SELECT COUNT(*) FROM snapshots WHERE parent = $key";
            children.Parameters.AddWithValue("$key", key);
            if ((long)(await children.ExecuteScalarAsync(ct).ConfigureAwait(false))! > 0)
            {
                throw MockerException.Conflict($"cannot remove snapshot {key}: snapshot has children: failed precondition");
            }
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM snapshots WHERE key = $key";
            cmd.Parameters.AddWithValue("$key", key);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return row.Id;
        }, ct).ConfigureAwait(false);
        if (id is { } n)
        {
            DeleteDir(SnapshotDir(n));
        }
    }

    public async Task<string> GetChangesDirAsync(string key, CancellationToken ct)
    {
        await using var conn = _db.Open();
        var row = await GetRowAsync(conn, null, key, ct).ConfigureAwait(false) ?? throw NotFound(key);
        return FsDir(row.Id);
    }

    public async Task<long> UsageAsync(string key, CancellationToken ct)
    {
        var dir = await GetChangesDirAsync(key, ct).ConfigureAwait(false);
        return await Task.Run(() => DiskUsage(dir), ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SnapshotInfo>> ListAsync(CancellationToken ct)
    {
        await using var conn = _db.Open();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT key, id, parent, kind, created_at FROM snapshots ORDER BY id";
        var list = new List<SnapshotInfo>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(ToInfo(ReadRow(reader)));
        }
        return list;
    }

    /// <summary>
    /// Removes snapshot directories that the database does not know (left by a crash between creating a directory
    /// and committing its row, or between deleting a row and its directory). Call at daemon start, before any use.
    /// </summary>
    public async Task CleanupAsync(CancellationToken ct)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        await using (var conn = _db.Open())
        await using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT id FROM snapshots";
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                known.Add(reader.GetInt64(0).ToString(CultureInfo.InvariantCulture));
            }
        }
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            if (!known.Contains(Path.GetFileName(dir)))
            {
                DeleteDir(dir);
            }
        }
    }

    private async Task<IReadOnlyList<Mount>> CreateAsync(string key, string? parent, SnapshotKind kind, CancellationToken ct)
    {
        long createdId = -1;
        try
        {
            return await _db.InTransactionAsync(async (conn, tx) =>
            {
                if (await GetRowAsync(conn, tx, key, ct).ConfigureAwait(false) is not null)
                {
                    throw MockerException.Conflict($"snapshot {key}: already exists");
                }
                if (parent is not null)
                {
                    var p = await GetRowAsync(conn, tx, parent, ct).ConfigureAwait(false) ?? throw NotFound(parent);
                    if (p.Kind != SnapshotKind.Committed)
                    {
                        throw MockerException.InvalidArgument($"parent snapshot {parent} is not committed: failed precondition");
                    }
                }
                await using var next = conn.CreateCommand();
                next.Transaction = tx;
                next.CommandText = "SELECT COALESCE(MAX(id), 0) + 1 FROM snapshots";
                var id = (long)(await next.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                // A directory still on disk belongs to a snapshot being removed (or a crash leftover): skip its number.
                while (Directory.Exists(SnapshotDir(id)))
                {
                    id++;
                }
                var row = new Row(key, id, parent, kind, DateTimeOffset.UtcNow);
                await using var cmd = conn.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO snapshots (key, id, parent, kind, created_at) VALUES ($key, $id, $parent, $kind, $created)";
                cmd.Parameters.AddWithValue("$key", key);
                cmd.Parameters.AddWithValue("$id", id);
                cmd.Parameters.AddWithValue("$parent", (object?)parent ?? DBNull.Value);
                cmd.Parameters.AddWithValue("$kind", (int)kind);
                cmd.Parameters.AddWithValue("$created", row.Created.ToString("O", CultureInfo.InvariantCulture));
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                // Directories are made inside the transaction: a failure rolls the row back, a crash before commit
                // leaves only an unknown directory for CleanupAsync.
                createdId = id;
                Directory.CreateDirectory(FsDir(id));
                if (kind == SnapshotKind.Active)
                {
                    Directory.CreateDirectory(WorkDir(id));
                }
                return await MountsForAsync(conn, tx, row, ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch when (createdId >= 0)
        {
            DeleteDir(SnapshotDir(createdId));
            throw;
        }
    }

    private async Task<IReadOnlyList<Mount>> MountsForAsync(SqliteConnection conn, SqliteTransaction? tx, Row row, CancellationToken ct)
    {
        var lowers = new List<string>();
        for (var parent = row.Parent; parent is not null;)
        {
            var p = await GetRowAsync(conn, tx, parent, ct).ConfigureAwait(false) ?? throw NotFound(parent);
            lowers.Add(FsDir(p.Id));
            parent = p.Parent;
        }
        if (row.Kind == SnapshotKind.View)
        {
            return lowers.Count switch
            {
                0 => [new Mount("bind", FsDir(row.Id), ["rbind", "ro"])],
                1 => [new Mount("bind", lowers[0], ["rbind", "ro"])],
                _ => [new Mount("overlay", "overlay", ["lowerdir=" + string.Join(':', lowers)])],
            };
        }
        if (row.Kind == SnapshotKind.Committed)
        {
            throw MockerException.InvalidArgument($"snapshot {row.Key} is committed and cannot be mounted: failed precondition");
        }
        return lowers.Count == 0
            ? [new Mount("bind", FsDir(row.Id), ["rbind", "rw"])]
            : [new Mount("overlay", "overlay", ["workdir=" + WorkDir(row.Id), "upperdir=" + FsDir(row.Id), "lowerdir=" + string.Join(':', lowers)])];
    }

    private static async Task<Row?> GetRowAsync(SqliteConnection conn, SqliteTransaction? tx, string key, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT key, id, parent, kind, created_at FROM snapshots WHERE key = $key";
        cmd.Parameters.AddWithValue("$key", key);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadRow(reader) : null;
    }

    private static Row ReadRow(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetInt64(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        (SnapshotKind)r.GetInt32(3),
        DateTimeOffset.Parse(r.GetString(4), CultureInfo.InvariantCulture));

    private static SnapshotInfo ToInfo(Row row) => new(row.Key, row.Parent, row.Kind, row.Created);

    private static MockerException NotFound(string key) => new(ErrorKind.NotFound, $"snapshot {key}: not found");

    private string SnapshotDir(long id) => Path.Combine(_root, id.ToString(CultureInfo.InvariantCulture));
    private string FsDir(long id) => Path.Combine(SnapshotDir(id), "fs");
    private string WorkDir(long id) => Path.Combine(SnapshotDir(id), "work");

    private static void DeleteDir(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Bytes of the files under <paramref name="dir"/>, each hard-linked inode counted once (like du's apparent size).</summary>
    internal static long DiskUsage(string dir)
    {
        var seen = new HashSet<(ulong, ulong)>();
        long total = 0;
        var pending = new Stack<string>();
        pending.Push(dir);
        while (pending.Count > 0)
        {
            foreach (var entry in new DirectoryInfo(pending.Pop()).EnumerateFileSystemInfos())
            {
                if (!Native.Libc.TryLstat(entry.FullName, out var st) || !seen.Add((st.Dev, st.Ino)))
                {
                    continue;
                }
                if (st.Type == Native.Libc.S_IFDIR)
                {
                    pending.Push(entry.FullName);
                }
                else
                {
                    total += st.Size;
                }
            }
        }
        return total;
    }
}
