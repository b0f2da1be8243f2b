"""The domain: what the plan, its agencies, members and reports are, and the rules about them.

Plain dataclasses and pure functions, the same on every database and every platform: members
and roles (``members``), agencies (``agencies``), the plan and its deadlines (``plan``), the
reports officers submit (``submissions``), where a task stands in a year (``progress``), working
days and reminder steps (``calendar``) and where a chat stands in a conversation
(``conversation``). The domain imports no other layer, no database, no platform and no
translated text (an import-linter contract); storage returns these types, and handlers and
exports read them.
"""
