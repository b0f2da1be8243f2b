"""Repositories: queries and changes by aggregate, returning domain types; none commits.

One module per aggregate, each a class over the unit of work's session
(:class:`storage.uow.UnitOfWork` makes them): :mod:`.members`, :mod:`.invitations`,
:mod:`.link_codes`, :mod:`.conversations`, :mod:`.plan`, :mod:`.agencies`,
:mod:`.audit`, :mod:`.submissions`.
"""

from storage.repositories.audit import AuditRepository as AuditRepository  # bridge: sweep
from storage.repositories.conversations import (  # bridge: sweep
    ConversationRepository as ConversationRepository,
)
from storage.repositories.invitations import (  # bridge: sweep
    InvitationRepository as InvitationRepository,
)
from storage.repositories.members import MemberRepository as MemberRepository  # bridge: sweep
from storage.repositories.plan import PlanRepository as PlanRepository  # bridge: sweep
