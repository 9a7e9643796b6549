using Mocker.Api;
using Mocker.Engine.Events;
using Xunit;

namespace Mocker.Engine.Tests.Events;

public sealed class EventBusTests
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> None = new Dictionary<string, IReadOnlyList<string>>();

    private static async Task<List<EventMessage>> CollectAsync(EventBus bus, EventSubscription sub)
    {
        var list = new List<EventMessage>();
        await foreach (var m in bus.SubscribeAsync(sub, CancellationToken.None))
        {
            list.Add(m);
        }
        return list;
    }

    [Fact]
    public async Task Since_until_replays_history_in_order_with_legacy_fields()
    {
        var bus = new EventBus();
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        bus.Publish("container", "create", "abc", new Dictionary<string, string> { ["image"] = "busybox", ["name"] = "c1" });
        bus.Publish("container", "start", "abc", new Dictionary<string, string> { ["image"] = "busybox", ["name"] = "c1" });
        bus.Publish("image", "tag", "sha256:1", new Dictionary<string, string> { ["name"] = "busybox:x" });
        var all = await CollectAsync(bus, new EventSubscription(t0, DateTimeOffset.UtcNow, None));
        Assert.Equal(["create", "start", "tag"], all.Select(m => m.Action));
        Assert.Equal("busybox", all[0].from);
        Assert.Equal("create", all[0].status);
        Assert.Null(all[2].status);
        Assert.True(all[1].timeNano > all[0].timeNano);
        Assert.Equal(all[0].timeNano / 1_000_000_000, all[0].time);
    }

    [Fact]
    public async Task Filters_are_anded_across_keys_and_ored_within_a_key()
    {
        var bus = new EventBus();
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        bus.Publish("container", "die", "abc", new Dictionary<string, string> { ["image"] = "busybox", ["name"] = "c1", ["exitCode"] = "3", ["l"] = "v" });
        bus.Publish("container", "die", "def", new Dictionary<string, string> { ["image"] = "alpine", ["name"] = "c2", ["exitCode"] = "0" });
        bus.Publish("container", "exec_start: sh -c true", "def", new Dictionary<string, string> { ["image"] = "alpine", ["name"] = "c2" });
        var filters = new Dictionary<string, IReadOnlyList<string>> { ["event"] = ["die"], ["container"] = ["c1", "de"] };
        var got = await CollectAsync(bus, new EventSubscription(t0, DateTimeOffset.UtcNow, filters));
        Assert.Equal(["abc", "def"], got.Select(m => m.Actor.ID));
        var label = await CollectAsync(bus, new EventSubscription(t0, DateTimeOffset.UtcNow, new Dictionary<string, IReadOnlyList<string>> { ["label"] = ["l=v"] }));
        Assert.Equal("abc", Assert.Single(label).Actor.ID);
        var exec = await CollectAsync(bus, new EventSubscription(t0, DateTimeOffset.UtcNow, new Dictionary<string, IReadOnlyList<string>> { ["event"] = ["exec_start"] }));
        Assert.Single(exec);
        var image = await CollectAsync(bus, new EventSubscription(t0, DateTimeOffset.UtcNow, new Dictionary<string, IReadOnlyList<string>> { ["image"] = ["alpine"] }));
        Assert.Equal(2, image.Count);
    }

    [Fact]
    public async Task History_is_bounded()
    {
        var bus = new EventBus();
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (var i = 0; i < EventBus.HistorySize + 10; i++)
        {
            bus.Publish("container", "create", i.ToString(System.Globalization.CultureInfo.InvariantCulture), new Dictionary<string, string>());
        }
        var all = await CollectAsync(bus, new EventSubscription(t0, DateTimeOffset.UtcNow, None));
        Assert.Equal(EventBus.HistorySize, all.Count);
        Assert.Equal("10", all[0].Actor.ID);
    }

    [Fact]
    public async Task A_live_subscriber_sees_events_published_after_it_subscribed_and_ends_at_until()
    {
        var bus = new EventBus();
        await using var e = bus.SubscribeAsync(new EventSubscription(null, DateTimeOffset.UtcNow.AddSeconds(30), None), CancellationToken.None).GetAsyncEnumerator();
        var next = e.MoveNextAsync();
        // The iterator registers synchronously inside its first MoveNext, before it awaits the queue.
        Assert.False(next.IsCompleted);
        bus.Publish("container", "start", "live", new Dictionary<string, string>());
        Assert.True(await next);
        Assert.Equal("live", e.Current.Actor.ID);
    }
}
