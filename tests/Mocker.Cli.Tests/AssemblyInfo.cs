// The CLI under test is Linux-only (termios, UNIX sockets).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
