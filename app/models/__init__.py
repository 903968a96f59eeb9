"""Database tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, AccountState
from app.models.blocklist import BlocklistEntry
from app.models.command import AccountCommandRow
from app.models.event import Event
from app.models.gateway import Gateway
from app.models.mailbox import Mailbox
from app.models.message import Message
from app.models.oauth_app import OAuthApp, OAuthFlow
from app.models.outbox import OutboxItem, Progress
from app.models.protocol_log import ProtocolLog
from app.models.setting import Lease, Setting
from app.models.template import Template
from app.models.token import Token
from app.models.webhook import WebhookDelivery

__all__ = [
    "Account",
    "AccountCommandRow",
    "AccountState",
    "BlocklistEntry",
    "Event",
    "Gateway",
    "Lease",
    "Mailbox",
    "Message",
    "OAuthApp",
    "OAuthFlow",
    "OutboxItem",
    "Progress",
    "ProtocolLog",
    "Setting",
    "Template",
    "Token",
    "WebhookDelivery",
]
