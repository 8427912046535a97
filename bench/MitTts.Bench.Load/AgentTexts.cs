using System.Globalization;

namespace MitTts.Bench.Load;

/// <summary>Short voice-agent answers, 40 to 200 characters: mostly templates filled with names, numbers and times (so the audio cache
/// cannot answer them), some stock phrases an agent repeats all day (so it answers those).</summary>
internal static class AgentTexts
{
    public const int MinLength = 40;
    public const int MaxLength = 200;

    /// <summary>Share of answers that are a stock phrase.</summary>
    public const double StockShare = 0.15;

    private static readonly string[] s_stock =
    [
        "Sure, I can help you with that. Let me check your account.",
        "One moment, please. I am looking that up for you right now.",
        "Is there anything else I can help you with today?",
        "Thanks for waiting. I have everything I need to continue.",
        "I am sorry, I did not catch that. Could you say it again, please?",
        "Thank you for calling. Have a great rest of your day.",
    ];

    private static readonly string[] s_templates =
    [
        "Your order {order} ships on {day} and should arrive by {time}.",
        "I have booked a table for {count} at {time} on {day}. You will get a text to confirm.",
        "The balance on the account ending in {digits} is {amount} dollars as of this morning.",
        "Thanks, {name}. I have moved your appointment to {day} at {time}.",
        "Flight {flight} to {city} is on time and boards at gate {gate} at {time}.",
        "Your reference number is {order}. Please keep it for your records.",
        "The nearest store is on {street}, about {count} minutes from you, and it closes at {time} tonight.",
        "I can see a payment of {amount} dollars on {day}. Would you like me to send a receipt to {name}?",
        "Your package left our {city} warehouse on {day} and is now {count} stops away.",
        "A technician can come on {day} between {time} and {later}. Does that work for you, {name}?",
        "Your subscription renews on {day} for {amount} dollars a month.",
        "I found {count} open tickets. The newest, number {order}, was opened on {day}.",
    ];

    private static readonly string[] s_names = ["Maria", "James", "Aisha", "Chen", "Olga", "Pedro", "Fatima", "Liam", "Yuki", "Noah", "Priya", "Sam"];
    private static readonly string[] s_days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] s_cities = ["Chicago", "Denver", "Boston", "Seattle", "Austin", "Miami", "Portland", "Atlanta"];
    private static readonly string[] s_streets = ["Main Street", "Oak Avenue", "Fifth Avenue", "Pine Road", "Harbor Drive", "Elm Street"];

    /// <summary>The next answer; the same <paramref name="random"/> seed gives the same sequence, so runs load the server alike.</summary>
    public static string Next(Random random)
    {
        if (random.NextDouble() < StockShare)
        {
            return s_stock[random.Next(s_stock.Length)];
        }

        var text = Fill(s_templates[random.Next(s_templates.Length)], random);
        if (random.NextDouble() < 0.4 && Fill(s_templates[random.Next(s_templates.Length)], random) is var second && text.Length + 1 + second.Length <= MaxLength)
        {
            text += " " + second;
        }

        return text;
    }

    private static string Fill(string template, Random random)
    {
        var culture = CultureInfo.InvariantCulture;
        var hour = random.Next(8, 18);
        var minutes = random.Next(4) * 15;
        return template
            .Replace("{order}", random.Next(10000, 99999).ToString(culture), StringComparison.Ordinal)
            .Replace("{digits}", random.Next(1000, 9999).ToString(culture), StringComparison.Ordinal)
            .Replace("{amount}", string.Create(culture, $"{random.Next(5, 2000)}.{random.Next(100):00}"), StringComparison.Ordinal)
            .Replace("{count}", random.Next(2, 12).ToString(culture), StringComparison.Ordinal)
            .Replace("{gate}", string.Create(culture, $"{(char)('A' + random.Next(6))}{random.Next(1, 40)}"), StringComparison.Ordinal)
            .Replace("{flight}", random.Next(100, 2999).ToString(culture), StringComparison.Ordinal)
            .Replace("{time}", Clock(hour, minutes), StringComparison.Ordinal)
            .Replace("{later}", Clock(hour + 2, minutes), StringComparison.Ordinal)
            .Replace("{day}", s_days[random.Next(s_days.Length)], StringComparison.Ordinal)
            .Replace("{name}", s_names[random.Next(s_names.Length)], StringComparison.Ordinal)
            .Replace("{city}", s_cities[random.Next(s_cities.Length)], StringComparison.Ordinal)
            .Replace("{street}", s_streets[random.Next(s_streets.Length)], StringComparison.Ordinal);
    }

    private static string Clock(int hour, int minutes) =>
        string.Create(CultureInfo.InvariantCulture, $"{(hour - 1) % 12 + 1}:{minutes:00} {(hour < 12 ? "a.m." : "p.m.")}");
}
