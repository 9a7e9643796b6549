using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Mocker.Api;

namespace Mocker.Client;

public sealed partial class SystemOperations
{
    /// <summary>
    /// <c>GET /events?since=&amp;until=&amp;filters=</c> (<c>mocker events</c>; engine-api-trace.md §1.18). Times are the API's
    /// "seconds[.nanoseconds]" strings. Without <paramref name="until"/> the stream lasts until <paramref name="ct"/> fires.
    /// </summary>
    public async IAsyncEnumerable<EventMessage> EventsAsync(string? since = null, string? until = null,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? filters = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var response = await _client.SendAsync(HttpMethod.Get, "/events",
            ContainerOperations.Q(("since", since), ("until", until), ("filters", MockerClient.EncodeFilters(filters))), null, ct).ConfigureAwait(false);
        using (response)
        {
            using var reader = new StreamReader(response.Body, Encoding.UTF8);
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (line.Trim().Length == 0) continue;
                if (JsonSerializer.Deserialize(line, EventsJsonContext.Default.EventMessage) is { } m) yield return m;
            }
        }
    }
}
