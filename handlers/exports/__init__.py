"""Files the coordinator downloads: a workbook, a draft report, a chart and a plain-text summary.

``registry.py`` lists them (name, media type, who may have each, how each is made); chat, the
command line and the web dashboard get a file through its ``export``. Each export takes the
year's ``PlanSummary`` (the workbook also streams every submission) and returns the file's
bytes.

The workbook (XlsxWriter), the document (python-docx) and the chart (matplotlib) live in their
own modules, imported at the first export: together they weigh about 90 MB, which a bot that
only takes reports should not carry.
"""

from __future__ import annotations

from handlers.exports.labels import STATE_LABELS, state_label
from handlers.exports.text import text_report

__all__ = ["STATE_LABELS", "state_label", "text_report"]
