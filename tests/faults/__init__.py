"""The fault-injection suite: real Redis servers killed, paused and restarted under load."""
