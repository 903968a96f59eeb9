"""Tokens, settings, webhook deliveries and stats (generated from the REST schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.graphql.types.generate import input_type, output_type, register
from app.schemas import settings as st
from app.schemas import system as sy
from app.schemas import tokens as tk
from app.schemas import webhooks as wh

if TYPE_CHECKING:
    Token = tk.TokenInfo
    TokenCreated = tk.TokenCreated
    TokenDeleted = tk.TokenDeleted
    Settings = st.SettingsOut
    SettingsUpdated = st.SettingsUpdated
    Delivery = wh.Delivery
    DeliveryList = wh.DeliveryList
    Stats = sy.Stats
    TokenCreateInput = Any
    SettingsUpdateInput = Any
else:
    register(tk.TokenInfo, "Token")
    register(st.SettingsOut, "Settings")
    register(wh.Delivery, "WebhookDelivery")
    register(wh.DeliveryList, "WebhookDeliveryList")
    Token = output_type(tk.TokenInfo)
    TokenCreated = output_type(tk.TokenCreated)
    TokenDeleted = output_type(tk.TokenDeleted)
    Settings = output_type(st.SettingsOut)
    SettingsUpdated = output_type(st.SettingsUpdated)
    Delivery = output_type(wh.Delivery)
    DeliveryList = output_type(wh.DeliveryList)
    Stats = output_type(sy.Stats)
    TokenCreateInput = input_type(tk.TokenCreate)
    SettingsUpdateInput = input_type(st.SettingsUpdate)
