"""Bridge: the types the repositories return moved to :mod:`bot.core.domain`."""

from bot.core.domain.agencies import AgencyInfo as AgencyInfo  # bridge: sweep
from bot.core.domain.agencies import AgencyStatus as AgencyStatus  # bridge: sweep
from bot.core.domain.conversation import ConversationState as ConversationState  # bridge: sweep
from bot.core.domain.members import InvitationInfo as InvitationInfo  # bridge: sweep
from bot.core.domain.members import MemberInfo as MemberInfo  # bridge: sweep
from bot.core.domain.members import Role as Role  # bridge: sweep
from bot.core.domain.plan import AssignmentRole as AssignmentRole  # bridge: sweep
from bot.core.domain.plan import CycleInfo as CycleInfo  # bridge: sweep
from bot.core.domain.plan import ImportResult
from bot.core.domain.plan import IndexInfo as IndexInfo  # bridge: sweep
from bot.core.domain.plan import MilestoneInfo as MilestoneInfo  # bridge: sweep
from bot.core.domain.plan import PlanIndexView as PlanIndexView  # bridge: sweep
from bot.core.domain.plan import PlanTaskView as PlanTaskView  # bridge: sweep
from bot.core.domain.plan import PlanView as PlanView  # bridge: sweep
from bot.core.domain.plan import TaskInfo as TaskInfo  # bridge: sweep
from bot.core.domain.submissions import AttachmentInfo as AttachmentInfo  # bridge: sweep
from bot.core.domain.submissions import NewSubmission as NewSubmission  # bridge: sweep
from bot.core.domain.submissions import ReportStatus as ReportStatus  # bridge: sweep
from bot.core.domain.submissions import SubmissionInfo as SubmissionInfo  # bridge: sweep

ImportReport = ImportResult  # bridge: sweep
