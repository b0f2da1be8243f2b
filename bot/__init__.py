"""Composition and adapters: settings, channels, the command line."""
