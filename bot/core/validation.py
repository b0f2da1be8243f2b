"""Plain-language reasons for the validation errors settings and plan files can raise."""

from __future__ import annotations

from bot.core.i18n import N_, _

_REASONS = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("this field is not part of the plan format"),
    "string_too_short": N_("must not be empty"),
    "too_short": N_("must not be empty"),
    "string_too_long": N_("is too long"),
    "string_pattern_mismatch": N_("codes use only letters, digits, '.', '_' and '-'"),
    "literal_error": N_("is not one of the allowed values"),
    "int_parsing": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "greater_than_equal": N_("is too small"),
    "less_than_equal": N_("is too large"),
    "date_from_datetime_parsing": N_("must be a date written yyyy-mm-dd"),
    "date_parsing": N_("must be a date written yyyy-mm-dd"),
    "string_type": N_("must be text (put it in quotes)"),
    "bool_type": N_("must be true or false"),
}


def reason(error_type: str, message: str) -> str:
    """Return the translated reason for a pydantic error type, or its own message."""
    known = _REASONS.get(error_type)
    return _(known) if known else message.removeprefix("Value error, ")
