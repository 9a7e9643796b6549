// mocker drives Linux containers over a UNIX socket and uses termios: it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Mocker.Cli.Tests")]
