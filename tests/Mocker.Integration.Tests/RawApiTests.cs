using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mocker.Integration.Tests.Infrastructure;
using Xunit;

namespace Mocker.Integration.Tests;

/// <summary>The Engine API on the wire (status codes, headers, bodies), over the daemon's UNIX socket.</summary>
[Collection(DaemonCollection.Name)]
public sealed class RawApiTests(DaemonFixture fixture)
{
    private readonly DaemonInstance _d = fixture.Daemon;

    private static CancellationToken Bounded() => new CancellationTokenSource(DaemonInstance.Timeout).Token;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary><c>POST /containers/create?name=</c> from busybox with <paramref name="cmdJson"/>; asserts 201 and returns the ID.</summary>
    private async Task<string> CreateAsync(string name, string cmdJson)
    {
        using var response = await _d.Http.PostAsync($"/containers/create?name={name}", Json($$"""{"Image":"busybox","Cmd":{{cmdJson}}}"""), Bounded());
        var body = await response.Content.ReadAsStringAsync(Bounded());
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create: {(int)response.StatusCode} {body}");
        using var doc = JsonDocument.Parse(body);
        var id = doc.RootElement.GetProperty("Id").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", id);
        return id;
    }

    private async Task PostExpectingAsync(string path, HttpStatusCode expected)
    {
        using var response = await _d.Http.PostAsync(path, null, Bounded());
        Assert.True(response.StatusCode == expected, $"POST {path}: expected {(int)expected}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Bounded())}");
    }

    [Fact]
    public async Task Ping_carries_the_api_version_headers()
    {
        using var head = await _d.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/_ping"), Bounded());
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("1.41", Assert.Single(head.Headers.GetValues("Api-Version")));
        Assert.Equal("linux", Assert.Single(head.Headers.GetValues("Ostype")));
        Assert.Equal("false", Assert.Single(head.Headers.GetValues("Docker-Experimental")));
        Assert.True(head.Headers.CacheControl?.NoCache, "Cache-Control: no-cache expected on /_ping");

        using var get = await _d.Http.GetAsync("/_ping", Bounded());
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("OK", await get.Content.ReadAsStringAsync(Bounded()));
        Assert.Equal("text/plain", get.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/version")]
    [InlineData("/v1.41/version")]
    [InlineData("/v1.24/version")]
    public async Task Version_is_served_with_and_without_a_version_prefix(string path)
    {
        using var response = await _d.Http.GetAsync(path, Bounded());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Bounded()));
        Assert.Equal("1.41", doc.RootElement.GetProperty("ApiVersion").GetString());
        Assert.Equal("linux", doc.RootElement.GetProperty("Os").GetString());
    }

    [Theory]
    [InlineData("/containers/json?all=1")]
    [InlineData("/v1.41/containers/json?all=1")]
    [InlineData("/images/json")]
    [InlineData("/v1.41/images/json")]
    public async Task Lists_are_served_with_and_without_a_version_prefix(string path)
    {
        using var response = await _d.Http.GetAsync(path, Bounded());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Bounded()));
        Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
    }

    [Theory]
    [InlineData("GET", "/containers/nosuch/json")]
    [InlineData("GET", "/v1.41/containers/nosuch/json")]
    [InlineData("DELETE", "/containers/nosuch")]
    [InlineData("POST", "/containers/nosuch/start")]
    public async Task Unknown_container_is_404_with_dockers_message(string method, string path)
    {
        using var response = await _d.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path), Bounded());
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"message\":\"No such container: nosuch\"}", (await response.Content.ReadAsStringAsync(Bounded())).TrimEnd('\n'));
    }

    [Fact]
    public async Task Unknown_image_is_404()
    {
        using var response = await _d.Http.GetAsync("/images/nosuch-image-xyz/json", Bounded());
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Bounded()));
        Assert.Contains("No such image", doc.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplicate_container_name_is_409()
    {
        var name = Names.Unique("it-dup");
        try
        {
            var id = await CreateAsync(name, """["true"]""");

            using var second = await _d.Http.PostAsync($"/containers/create?name={name}", Json("""{"Image":"busybox","Cmd":["true"]}"""), Bounded());
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
            using var error = JsonDocument.Parse(await second.Content.ReadAsStringAsync(Bounded()));
            Assert.Equal(
                $"Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.",
                error.RootElement.GetProperty("message").GetString());
        }
        finally
        {
            using var _ = await _d.Http.DeleteAsync($"/containers/{name}?force=1", Bounded());
        }
    }

    [Fact]
    public async Task Starting_a_running_container_is_304_and_wait_headers_come_before_start()
    {
        var name = Names.Unique("it-304");
        try
        {
            await CreateAsync(name, """["sh","-c","trap 'exit 9' TERM; sleep 1000 & wait"]""");

            // The docker CLI sends start only once the wait response's headers arrived (engine-api-trace.md §1.2).
            var waitRequest = new HttpRequestMessage(HttpMethod.Post, $"/containers/{name}/wait?condition=next-exit");
            using var wait = await _d.Http.SendAsync(waitRequest, HttpCompletionOption.ResponseHeadersRead, Bounded());
            Assert.Equal(HttpStatusCode.OK, wait.StatusCode);

            await PostExpectingAsync($"/containers/{name}/start", HttpStatusCode.NoContent);
            await PostExpectingAsync($"/containers/{name}/start", HttpStatusCode.NotModified);
            await PostExpectingAsync($"/containers/{name}/kill?signal=TERM", HttpStatusCode.NoContent);
            string waitBody;
            try
            {
                waitBody = await wait.Content.ReadAsStringAsync(Bounded());
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the wait did not end within {DaemonInstance.Timeout.TotalSeconds} s of the TERM to a container that traps it with exit 9");
            }
            using var result = JsonDocument.Parse(waitBody);
            Assert.Equal(9, result.RootElement.GetProperty("StatusCode").GetInt32());

            await PostExpectingAsync($"/containers/{name}/stop", HttpStatusCode.NotModified);
        }
        finally
        {
            using var _ = await _d.Http.DeleteAsync($"/containers/{name}?force=1", Bounded());
        }
    }

    [Fact]
    public async Task Removing_a_running_container_without_force_is_409()
    {
        var name = Names.Unique("it-rm409");
        try
        {
            await CreateAsync(name, """["sleep","1000"]""");
            await PostExpectingAsync($"/containers/{name}/start", HttpStatusCode.NoContent);

            using var rm = await _d.Http.DeleteAsync($"/containers/{name}", Bounded());
            Assert.Equal(HttpStatusCode.Conflict, rm.StatusCode);
            using var forced = await _d.Http.DeleteAsync($"/containers/{name}?force=1", Bounded());
            Assert.Equal(HttpStatusCode.NoContent, forced.StatusCode);
            using var gone = await _d.Http.GetAsync($"/containers/{name}/json", Bounded());
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        finally
        {
            using var _ = await _d.Http.DeleteAsync($"/containers/{name}?force=1", Bounded());
        }
    }

    [Fact]
    public void Socket_is_owner_and_group_read_write_only()
    {
        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            File.GetUnixFileMode(_d.SocketPath));
    }

    [Fact]
    public async Task Build_failure_is_reported_in_stream_with_the_run_exit_code()
    {
        var dockerfile = "FROM busybox\nRUN exit 7\n"u8.ToArray();
        using var tar = new MemoryStream();
        await using (var writer = new System.Formats.Tar.TarWriter(tar, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "Dockerfile")
            {
                DataStream = new MemoryStream(dockerfile),
            });
        }
        tar.Position = 0;
        var content = new StreamContent(tar);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        var before = await _d.ContainerIdsAsync();
        try
        {
            using var response = await _d.Http.PostAsync("/build?dockerfile=Dockerfile&version=1", content, Bounded());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync(Bounded());
            var lines = Expect.Lines(body);
            Assert.True(lines.Count > 0 && lines[^1].Contains("\"errorDetail\"", StringComparison.Ordinal), $"the stream must end with an error message:\n{body}");
            using var last = JsonDocument.Parse(lines[^1]);
            Assert.Equal(7, last.RootElement.GetProperty("errorDetail").GetProperty("code").GetInt32());
            Assert.Contains("returned a non-zero code: 7", last.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            // Like Docker's builder without forcerm, the failed step's container stays behind: remove it.
            foreach (var id in (await _d.ContainerIdsAsync()).Except(before))
            {
                using var _ = await _d.Http.DeleteAsync($"/containers/{id}?force=1", Bounded());
            }
        }
    }

    [Fact]
    public async Task Resize_sets_the_containers_terminal_size()
    {
        var name = Names.Unique("resize");
        Expect.Ok(await _d.DockerAsync("run", "-d", "-t", "--name", name, "busybox", "sleep", "100"));
        try
        {
            await PostExpectingAsync($"/containers/{name}/resize?h=41&w=123", HttpStatusCode.OK);
            // conmon applies the size asynchronously after the request returns; each exec takes tens of milliseconds,
            // so a bounded number of reads observes it without any sleep.
            var size = "";
            for (var attempt = 0; attempt < 20 && size != "41 123"; attempt++)
            {
                size = Expect.Ok(await _d.DockerAsync("exec", name, "stty", "-F", "/dev/console", "size")).Stdout.Trim();
            }
            Assert.Equal("41 123", size);
        }
        finally
        {
            await _d.DockerAsync("rm", "-f", name);
        }
    }
}
