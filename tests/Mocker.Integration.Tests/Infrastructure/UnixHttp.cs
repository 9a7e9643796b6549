using System.Net.Sockets;

namespace Mocker.Integration.Tests.Infrastructure;

/// <summary>HttpClient speaking HTTP/1.1 over a UNIX socket, the way Docker clients reach the daemon.</summary>
public static class UnixHttp
{
    /// <summary>A client whose every connection goes to <paramref name="socketPath"/>; base address http://localhost/.</summary>
    public static HttpClient Create(string socketPath, TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri("http://localhost/"),
            Timeout = timeout ?? TimeSpan.FromMinutes(5),
        };
    }
}
