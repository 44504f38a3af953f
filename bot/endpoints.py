"""Point discord.py at Discord, a REST proxy, or the local emulator.

discord.py keeps both addresses as class attributes, so this is process-wide: one bot per process.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

from bot.config import DiscordSettings


def configure_endpoints(settings: DiscordSettings) -> None:
    discord.http.Route.BASE = settings.api_base_url  # also used for interaction callbacks and follow-ups
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
