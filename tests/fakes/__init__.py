"""Fakes of external services, reached over real network connections."""
