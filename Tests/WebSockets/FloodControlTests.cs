using MitTts.Gateway.WebSockets;

namespace MitTts.Tests.WebSockets;

/// <summary>A socket may burst two seconds' worth of messages, then keep to the configured rate.</summary>
public sealed class FloodControlTests
{
    [Fact]
    public void A_burst_of_twice_the_rate_passes_and_the_next_message_is_refused()
    {
        // One message a second: the bucket holds two, and the third cannot have been earned within the test.
        using var flood = new FloodControl(messagesPerSecond: 1);

        Assert.True(flood.TryAccept());
        Assert.True(flood.TryAccept());
        Assert.False(flood.TryAccept());
    }

    [Fact]
    public void The_default_rate_lets_a_thousand_messages_through_at_once_but_not_five_thousand()
    {
        using var flood = new FloodControl(new WebSocketProtocolOptions().MaxMessagesPerSecond);
        var accepted = 0;
        while (accepted < 5000 && flood.TryAccept())
        {
            accepted++;
        }

        // A thousand at once, plus the few earned at 500 a second while the loop ran.
        Assert.InRange(accepted, 1000, 1200);
    }

    [Fact]
    public void A_refused_client_is_served_again_once_the_rate_has_refilled_the_bucket()
    {
        using var flood = new FloodControl(messagesPerSecond: 50);
        while (flood.TryAccept())
        {
        }

        // 50 a second: a message is earned every 20 ms.
        Assert.True(SpinWait.SpinUntil(flood.TryAccept, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void The_close_reason_names_the_rate()
    {
        using var flood = new FloodControl(messagesPerSecond: 500);
        Assert.Equal("more than 500 messages per second", flood.CloseDescription);
    }
}
