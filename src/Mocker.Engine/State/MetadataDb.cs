using Microsoft.Data.Sqlite;

namespace Mocker.Engine.State;

/// <summary>
/// The daemon's one SQLite database. WAL journal with synchronous=NORMAL: every transaction is atomic and the
/// database is consistent after a crash at any instant (SQLite's WAL guarantee); only the last transactions before a
/// power loss may be rolled back, which costs no consistency. FULL would add an fsync to every commit, several per
/// container start, on the latency path the benchmark measures.
/// Every multi-row change goes through <see cref="InTransactionAsync{T}"/>. Each subsystem owns its tables; the schema
/// is created here so a fresh data root opens in one step.
/// </summary>
public sealed class MetadataDb
{
    private readonly string _connectionString;

    public MetadataDb(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = Schema;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Opens a pooled connection with the pragmas every connection needs.</summary>
    public SqliteConnection Open()
    {
        var conn = new SqliteConnection(_connectionString);
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
        cmd.ExecuteNonQuery();
        return conn;
    }

    /// <summary>Runs <paramref name="work"/> in one IMMEDIATE transaction; commits when it returns, rolls back when it throws.</summary>
    public async Task<T> InTransactionAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var conn = Open();
        await using var tx = (SqliteTransaction)await conn.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, ct).ConfigureAwait(false);
        var result = await work(conn, tx).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    private const string Schema = """
        PRAGMA journal_mode=WAL;
        CREATE TABLE IF NOT EXISTS images (
            id TEXT PRIMARY KEY,            -- config digest
            manifest_digest TEXT NOT NULL,
            config_json TEXT NOT NULL,
            top_chain_id TEXT,
            size INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            parent TEXT
        );
        CREATE TABLE IF NOT EXISTS image_refs (
            reference TEXT PRIMARY KEY,     -- normalised "docker.io/library/busybox:latest" or "repo@sha256:…"
            image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            kind INTEGER NOT NULL,          -- 0 tag, 1 digest
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS image_refs_image ON image_refs(image_id);
        CREATE TABLE IF NOT EXISTS snapshots (
            key TEXT PRIMARY KEY,
            id INTEGER NOT NULL UNIQUE,     -- directory number under snapshots/
            parent TEXT REFERENCES snapshots(key),
            kind INTEGER NOT NULL,          -- SnapshotKind
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS containers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,      -- with leading "/"
            image_id TEXT NOT NULL,
            record_json TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS build_cache (
            key TEXT PRIMARY KEY,           -- sha256 of the cache inputs
            image_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        """;
}
