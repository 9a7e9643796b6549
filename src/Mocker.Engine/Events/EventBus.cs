using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Mocker.Api;

namespace Mocker.Engine.Events;

/// <summary>What a subscriber asks of <see cref="EventBus.SubscribeAsync"/>: a replay window and Docker's event filters.</summary>
/// <param name="Since">Replay events at or after this time from the in-memory history; null = live only.</param>
/// <param name="Until">End the stream once this time has passed (after replaying history up to it); null = until cancelled.</param>
/// <param name="Filters">type, event, container (ID, ID prefix or name), image, label ("key" or "key=value"); values of one key are OR-ed, keys AND-ed.</param>
public sealed record EventSubscription(DateTimeOffset? Since, DateTimeOffset? Until, IReadOnlyDictionary<string, IReadOnlyList<string>> Filters);

/// <summary>
/// The engine's event bus behind <c>GET /events</c> (Docker daemon/events). Keeps the last <see cref="HistorySize"/>
/// events for since/until replay; each live subscriber gets a bounded queue of <see cref="SubscriberQueue"/> events and,
/// when it falls that far behind, loses the oldest ones (as Docker drops events for slow readers) rather than stalling the engine.
/// </summary>
public sealed class EventBus
{
    public const int HistorySize = 1000;
    public const int SubscriberQueue = 1024;

    private readonly Queue<EventMessage> _history = new();
    private readonly List<Channel<EventMessage>> _subscribers = [];
    private readonly object _lock = new();
    private long _lastNano;

    /// <summary>Publishes an event of <paramref name="type"/> ("container", "image") and <paramref name="action"/> now.</summary>
    public void Publish(string type, string action, string actorId, IReadOnlyDictionary<string, string> attributes)
    {
        lock (_lock)
        {
            // timeNano is unique and increasing, so history order and since/until bounds are unambiguous.
            var nano = Math.Max((DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100, _lastNano + 1);
            _lastNano = nano;
            var legacy = type == "container";
            var msg = new EventMessage
            {
                status = legacy ? action : null,
                id = legacy ? actorId : null,
                from = legacy && attributes.TryGetValue("image", out var img) ? img : null,
                Type = type,
                Action = action,
                Actor = new EventActor { ID = actorId, Attributes = new Dictionary<string, string>(attributes) },
                time = nano / 1_000_000_000,
                timeNano = nano,
            };
            _history.Enqueue(msg);
            if (_history.Count > HistorySize)
            {
                _history.Dequeue();
            }
            foreach (var s in _subscribers)
            {
                s.Writer.TryWrite(msg);
            }
        }
    }

    /// <summary>Replays history in [Since, Until] and then streams live events matching the filters until Until passes or <paramref name="ct"/> fires.</summary>
    public async IAsyncEnumerable<EventMessage> SubscribeAsync(EventSubscription sub, [EnumeratorCancellation] CancellationToken ct)
    {
        var sinceNano = sub.Since is { } s ? (s - DateTimeOffset.UnixEpoch).Ticks * 100 : long.MaxValue;
        var untilNano = sub.Until is { } u ? (u - DateTimeOffset.UnixEpoch).Ticks * 100 : long.MaxValue;
        var channel = Channel.CreateBounded<EventMessage>(new BoundedChannelOptions(SubscriberQueue)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        List<EventMessage> replay;
        bool live;
        lock (_lock)
        {
            replay = sub.Since is null ? [] : _history.Where(m => m.timeNano >= sinceNano && m.timeNano <= untilNano).ToList();
            live = sub.Until is null || sub.Until > DateTimeOffset.UtcNow;
            if (live)
            {
                _subscribers.Add(channel);
            }
        }
        try
        {
            foreach (var m in replay.Where(m => Matches(m, sub.Filters)))
            {
                yield return m;
            }
            if (!live)
            {
                yield break;
            }
            using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (sub.Until is { } until)
            {
                window.CancelAfter(until - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            while (true)
            {
                EventMessage m;
                try
                {
                    if (!await channel.Reader.WaitToReadAsync(window.Token).ConfigureAwait(false))
                    {
                        yield break;
                    }
                    if (!channel.Reader.TryRead(out m!))
                    {
                        continue;
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    yield break;
                }
                if (m.timeNano > untilNano)
                {
                    yield break;
                }
                if (Matches(m, sub.Filters))
                {
                    yield return m;
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    /// <summary>Docker's event filter semantics (daemon/events/filter.go).</summary>
    public static bool Matches(EventMessage m, IReadOnlyDictionary<string, IReadOnlyList<string>> filters)
    {
        foreach (var (key, values) in filters)
        {
            if (values.Count == 0)
            {
                continue;
            }
            var attrs = m.Actor.Attributes;
            var ok = key switch
            {
                "type" => values.Contains(m.Type),
                "event" => values.Any(v => v == m.Action || (m.Action.StartsWith(v + ":", StringComparison.Ordinal))),
                "container" => m.Type == "container" && values.Any(v => IdOrName(m.Actor.ID, attrs, v)),
                "image" => values.Any(v => (m.Type == "image" && (m.Actor.ID == v || attrs.GetValueOrDefault("name") == v))
                    || (m.Type == "container" && attrs.GetValueOrDefault("image") is { } img && (img == v || img.Split(':')[0] == v))),
                "label" => values.Any(v => v.Split('=', 2) is var kv && attrs.TryGetValue(kv[0], out var lv) && (kv.Length == 1 || lv == kv[1])),
                _ => true,
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool IdOrName(string id, IReadOnlyDictionary<string, string> attrs, string v) =>
        id == v || (v.Length > 0 && id.StartsWith(v, StringComparison.Ordinal)) || attrs.GetValueOrDefault("name") == v.TrimStart('/');
}
