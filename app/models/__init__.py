"""Database tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, AccountState
from app.models.event import Event
from app.models.mailbox import Mailbox
from app.models.message import Message
from app.models.outbox import OutboxItem, Progress
from app.models.setting import Lease, Setting
from app.models.token import Token
from app.models.webhook import WebhookDelivery

__all__ = [
    "Account",
    "AccountState",
    "Event",
    "Lease",
    "Mailbox",
    "Message",
    "OutboxItem",
    "Progress",
    "Setting",
    "Token",
    "WebhookDelivery",
]
