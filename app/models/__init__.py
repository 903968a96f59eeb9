"""Database tables. Importing this package registers every table on ``SQLModel.metadata``."""

from app.models.account import Account, AccountState
from app.models.event import Event
from app.models.mailbox import Mailbox
from app.models.message import Message
from app.models.token import Token

__all__ = ["Account", "AccountState", "Event", "Mailbox", "Message", "Token"]
