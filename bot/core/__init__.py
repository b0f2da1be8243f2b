"""Platform-neutral types shared by every layer: messages, clock and translations."""
