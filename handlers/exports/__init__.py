"""Files the coordinator downloads: a workbook, a draft report, a chart and a plain-text summary.

Each export takes the year's ``PlanSummary`` (the workbook also streams every submission) and
returns the file's bytes or text; the channel decides how to send it.
"""

from __future__ import annotations

from handlers.exports.chart import chart
from handlers.exports.document import report_document
from handlers.exports.labels import STATE_LABELS, state_label
from handlers.exports.spreadsheet import spreadsheet
from handlers.exports.text import text_report

__all__ = ["STATE_LABELS", "chart", "report_document", "spreadsheet", "state_label", "text_report"]
