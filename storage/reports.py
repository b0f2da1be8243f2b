"""Moved to :mod:`storage.repositories.submissions`; this name stays until the sweep."""

from storage.repositories.submissions import SubmissionRepository as ReportRepository  # noqa: F401  # bridge: sweep
