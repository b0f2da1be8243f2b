"""Repositories: queries and changes by aggregate, returning domain types; none commits."""

from storage.repositories.members import (  # bridge: sweep
    AuditRepository as AuditRepository,
)
from storage.repositories.members import (  # bridge: sweep
    ConversationRepository as ConversationRepository,
)
from storage.repositories.members import (  # bridge: sweep
    InvitationRepository as InvitationRepository,
)
from storage.repositories.members import (  # bridge: sweep
    MemberRepository as MemberRepository,
)
from storage.repositories.members import (  # bridge: sweep
    PlanRepository as PlanRepository,
)
