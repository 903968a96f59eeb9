"""Account shapes (generated from the REST schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.graphql.types.generate import input_type, output_type, register
from app.schemas import accounts as s

if TYPE_CHECKING:  # resolvers return the pydantic models; strawberry sees the generated types
    AccountSummary = s.AccountSummary
    AccountList = s.AccountList
    AccountInfo = s.AccountInfo
    RegisterResult = s.RegisterResult
    AccountUpdated = s.AccountUpdated
    AccountDeleted = s.AccountDeleted
    ReconnectResult = s.ReconnectResult
    SyncResult = s.SyncResult
    AccountCreateInput = Any
    AccountUpdateInput = Any
else:
    register(s.AccountSummary, "Account", syncTime=float | None)
    register(s.AccountInfo, "AccountDetails", syncTime=float | None)
    AccountSummary = output_type(s.AccountSummary)
    AccountList = output_type(s.AccountList)
    AccountInfo = output_type(s.AccountInfo)
    RegisterResult = output_type(s.RegisterResult)
    AccountUpdated = output_type(s.AccountUpdated)
    AccountDeleted = output_type(s.AccountDeleted)
    ReconnectResult = output_type(s.ReconnectResult)
    SyncResult = output_type(s.SyncResult)
    AccountCreateInput = input_type(s.AccountCreate)
    AccountUpdateInput = input_type(s.AccountUpdate)
