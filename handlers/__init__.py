"""Platform-neutral conversation logic."""
