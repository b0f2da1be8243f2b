"""Bridge: the rules about people moved to :mod:`bot.core.domain.members`."""

from bot.core.domain.members import ROLE_RANK as ROLE_RANK  # bridge: sweep
from bot.core.domain.members import ROLE_WORDS as ROLE_WORDS  # bridge: sweep
from bot.core.domain.members import Change as Change  # bridge: sweep
from bot.core.domain.members import NamedThing as NamedThing  # bridge: sweep
from bot.core.domain.members import NameMatch as NameMatch  # bridge: sweep
from bot.core.domain.members import Refusal as Refusal  # bridge: sweep
from bot.core.domain.members import ascii_key as ascii_key  # bridge: sweep
from bot.core.domain.members import match_name as match_name  # bridge: sweep
from bot.core.domain.members import member_change_refusal as member_change_refusal  # bridge: sweep
from bot.core.domain.members import name_key as name_key  # bridge: sweep
from bot.core.domain.members import parse_role as parse_role  # bridge: sweep
