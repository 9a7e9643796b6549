using System.Text.Json;
using System.Text.Json.Serialization;
using Mocker.Api;
using Mocker.Engine.State;

namespace Mocker.Engine.Containers;

/// <summary>The persisted state of one container (one JSON document per row of table <c>containers</c>).</summary>
public sealed record ContainerRecord
{
    public required string Id { get; init; }
    /// <summary>With the leading "/".</summary>
    public required string Name { get; init; }
    /// <summary>Image ID "sha256:…".</summary>
    public required string ImageId { get; init; }
    /// <summary>The image as the client named it (Config.Image).</summary>
    public required string ImageName { get; init; }
    public required ContainerConfig Config { get; init; }
    public required HostConfig HostConfig { get; init; }
    public required string Path { get; init; }
    public required List<string> Args { get; init; }
    public DateTimeOffset Created { get; init; }
    /// <summary>"created", "running", "paused", "restarting", "removing", "exited", "dead".</summary>
    public string Status { get; init; } = "created";
    public int Pid { get; init; }
    public int ConmonPid { get; init; }
    public int ExitCode { get; init; }
    public string Error { get; init; } = "";
    /// <summary>conmon left an "oom" file in the persist dir during the last run.</summary>
    public bool OomKilled { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int RestartCount { get; init; }
    /// <summary>Set once the container was started at least once (a "next-exit" waiter on it needs a new exit).</summary>
    public bool HasBeenStarted { get; init; }
    public string NetworkMode { get; init; } = "none";
    /// <summary>The last run was ended by the user (stop, kill, rm -f): restart policies stay off until the next start (Docker's HasBeenManuallyStopped).</summary>
    public bool ManuallyStopped { get; init; }
    /// <summary>State.Health while a health check is configured; null otherwise.</summary>
    public HealthState? Health { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerRecord))]
internal sealed partial class ContainerJsonContext : JsonSerializerContext;

/// <summary>Container records in MetadataDb table <c>containers</c> (id, name, image_id, record_json). Writes are single statements.</summary>
public sealed class ContainerStore(MetadataDb db)
{
    public IReadOnlyList<ContainerRecord> LoadAll()
    {
        using var conn = db.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT record_json FROM containers";
        using var r = cmd.ExecuteReader();
        var list = new List<ContainerRecord>();
        while (r.Read())
        {
            list.Add(JsonSerializer.Deserialize(r.GetString(0), ContainerJsonContext.Default.ContainerRecord)!);
        }
        return list;
    }

    /// <summary>Inserts a new record; returns false when the name is taken (UNIQUE constraint).</summary>
    public async Task<bool> InsertAsync(ContainerRecord rec, CancellationToken ct)
    {
        await using var conn = db.Open();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO containers (id, name, image_id, record_json) VALUES ($id, $name, $image, $json)";
        cmd.Parameters.AddWithValue("$id", rec.Id);
        cmd.Parameters.AddWithValue("$name", rec.Name);
        cmd.Parameters.AddWithValue("$image", rec.ImageId);
        cmd.Parameters.AddWithValue("$json", JsonSerializer.Serialize(rec, ContainerJsonContext.Default.ContainerRecord));
        return await ExecuteUniqueAsync(cmd, ct).ConfigureAwait(false);
    }

    /// <summary>Updates the record (name included); returns false when the new name is taken.</summary>
    public async Task<bool> UpdateAsync(ContainerRecord rec, CancellationToken ct)
    {
        await using var conn = db.Open();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "UPDATE containers SET name = $name, record_json = $json WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", rec.Id);
        cmd.Parameters.AddWithValue("$name", rec.Name);
        cmd.Parameters.AddWithValue("$json", JsonSerializer.Serialize(rec, ContainerJsonContext.Default.ContainerRecord));
        return await ExecuteUniqueAsync(cmd, ct).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string id, CancellationToken ct)
    {
        await using var conn = db.Open();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "DELETE FROM containers WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Runs a write; false when it broke the UNIQUE name constraint (SQLITE_CONSTRAINT).</summary>
    private static async Task<bool> ExecuteUniqueAsync(Microsoft.Data.Sqlite.SqliteCommand cmd, CancellationToken ct)
    {
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (e.SqliteErrorCode == 19)
        {
            return false;
        }
    }
}
