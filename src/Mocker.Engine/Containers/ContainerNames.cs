using System.Text.RegularExpressions;

namespace Mocker.Engine.Containers;

/// <summary>Container name rules and Docker's random names (moby daemon/names and pkg/namesgenerator).</summary>
public static partial class ContainerNames
{
    [GeneratedRegex("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex ValidName();

    private static readonly string[] Left =
    [
        "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold",
        "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "condescending", "confident", "cool",
        "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated",
        "elegant", "eloquent", "epic", "exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty",
        "funny", "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry",
        "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving",
        "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic",
        "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical",
        "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange",
        "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant",
        "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ];

    private static readonly string[] Right =
    [
        "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin", "babbage", "banach",
        "bardeen", "bartik", "bassi", "beaver", "bell", "benz", "bhabha", "bhaskara", "blackwell", "bohr", "booth", "borg",
        "bose", "boyd", "brahmagupta", "brattain", "brown", "carson", "cerf", "chandrasekhar", "chatelet", "chaum",
        "clarke", "colden", "cori", "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "edison",
        "einstein", "elion", "engelbart", "euclid", "euler", "faraday", "feistel", "fermat", "fermi", "feynman",
        "franklin", "galileo", "gates", "goldberg", "goldstine", "goldwasser", "golick", "goodall", "haibt", "hamilton",
        "hawking", "heisenberg", "hermann", "hodgkin", "hoover", "hopper", "hugle", "hypatia", "jackson", "jang",
        "jennings", "jepsen", "johnson", "joliot", "jones", "kalam", "kapitsa", "kare", "keldysh", "keller", "kepler",
        "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt",
        "lewin", "lichterman", "liskov", "lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "mayer",
        "mccarthy", "mcclintock", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "minsky", "mirzakhani",
        "moore", "morse", "murdock", "napier", "nash", "neumann", "newton", "nobel", "noether", "northcutt", "noyce",
        "panini", "pare", "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras", "ptolemy", "raman",
        "ramanujan", "ride", "ritchie", "roentgen", "rosalind", "saha", "sammet", "shamir", "shannon", "shaw",
        "shirley", "shockley", "sinoussi", "snyder", "spence", "stonebraker", "sutherland", "swanson", "swartz",
        "swirles", "tesla", "thompson", "torvalds", "turing", "varahamihira", "visvesvaraya", "volhard", "wescoff",
        "wilbur", "wiles", "williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath",
    ];

    /// <summary>True when <paramref name="name"/> matches Docker's ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$.</summary>
    public static bool IsValid(string name) => ValidName().IsMatch(name);

    /// <summary>The error Docker returns for an invalid name (400).</summary>
    public static string InvalidMessage(string name) =>
        $"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed";

    /// <summary>"adjective_surname", with a digit appended on retries (namesgenerator.GetRandomName).</summary>
    public static string Random(int retry)
    {
        var name = Left[System.Random.Shared.Next(Left.Length)] + "_" + Right[System.Random.Shared.Next(Right.Length)];
        if (name == "boring_wozniak")
        {
            return Random(retry);
        }
        return retry > 0 ? name + System.Random.Shared.Next(10) : name;
    }
}

/// <summary>Docker's human status text for `docker ps` (moby container/state.go String and go-units HumanDuration).</summary>
public static class StatusText
{
    /// <summary>Go-units HumanDuration: "Less than a second", "1 second", "3 minutes", "About an hour", "2 days", ….</summary>
    public static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        if (seconds < 1)
        {
            return "Less than a second";
        }
        if (seconds == 1)
        {
            return "1 second";
        }
        if (seconds < 60)
        {
            return $"{seconds} seconds";
        }
        var minutes = (long)d.TotalMinutes;
        if (minutes == 1)
        {
            return "About a minute";
        }
        if (minutes < 60)
        {
            return $"{minutes} minutes";
        }
        var hours = (long)Math.Round(d.TotalHours);
        if (hours == 1)
        {
            return "About an hour";
        }
        if (hours < 48)
        {
            return $"{hours} hours";
        }
        if (hours < 24 * 7 * 2)
        {
            return $"{hours / 24} days";
        }
        if (hours < 24 * 30 * 2)
        {
            return $"{hours / 24 / 7} weeks";
        }
        if (hours < 24 * 365 * 2)
        {
            return $"{hours / 24 / 30} months";
        }
        return $"{hours / 24 / 365} years";
    }

    /// <summary>"Up 3 seconds", "Up 2 minutes (Paused)", "Exited (0) 5 seconds ago", "Created", "Restarting (1) …", "Removal In Progress".</summary>
    public static string For(string status, int exitCode, DateTimeOffset? startedAt, DateTimeOffset? finishedAt, DateTimeOffset now)
    {
        switch (status)
        {
            case "running":
                return "Up " + HumanDuration(now - (startedAt ?? now));
            case "paused":
                return "Up " + HumanDuration(now - (startedAt ?? now)) + " (Paused)";
            case "restarting":
                return $"Restarting ({exitCode}) {HumanDuration(now - (finishedAt ?? now))} ago";
            case "removing":
                return "Removal In Progress";
            case "dead":
                return "Dead";
            case "exited" when finishedAt is not null:
                return $"Exited ({exitCode}) {HumanDuration(now - finishedAt.Value)} ago";
            default:
                return "Created";
        }
    }
}
