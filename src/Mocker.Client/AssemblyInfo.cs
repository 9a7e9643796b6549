[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Mocker.Cli.Tests")]
