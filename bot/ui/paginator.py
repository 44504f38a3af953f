"""Pages of embeds behind Previous / Next buttons that only the member who asked can turn, and the pages themselves
made from a list of entries and a page size (the caller never slices)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot.ui.base import BaseView
from bot.ui.embeds import BRAND, add_field, clip, embed


def field_pages(
    title: str,
    entries: Sequence[tuple[str, str]],
    *,
    per_page: int,
    description: str | None = None,
    colour: discord.Colour = BRAND,
) -> list[discord.Embed]:
    """One embed per ``per_page`` entries, each entry a field (name, value)."""
    pages = []
    for start in range(0, max(len(entries), 1), per_page):
        page = embed(title, description, colour=colour)
        for name, value in entries[start : start + per_page]:
            add_field(page, name, value)
        pages.append(page)
    return pages


def line_pages(title: str, lines: Sequence[str], *, per_page: int, empty: str) -> list[discord.Embed]:
    """One embed per ``per_page`` lines, the lines as its description (``empty`` when there are none)."""
    pages = []
    for start in range(0, max(len(lines), 1), per_page):
        page = embed(title)
        page.description = clip("\n".join(lines[start : start + per_page]) or empty, 4000)
        pages.append(page)
    return pages


class Paginator(BaseView):
    def __init__(self, pages: list[discord.Embed], *, owner_id: int, timeout: float = 300.0) -> None:
        if not pages:
            raise ValueError("a paginator needs at least one page")
        super().__init__(timeout=timeout, owner_id=owner_id)
        self.pages = pages
        self.index = 0
        for number, page in enumerate(pages, start=1):
            if len(pages) > 1:
                page.set_footer(text=f"Page {number} of {len(pages)}")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    def page_files(self, index: int) -> list[discord.File] | None:
        """Files page ``index`` shows (an image its embed points to as ``attachment://``); None: pages carry none.
        A subclass's hook; a fresh ``discord.File`` each time (a sent one is spent)."""
        return None

    def _turned(self) -> dict[str, Any]:
        files = self.page_files(self.index)
        return {"embed": self.pages[self.index], "view": self, **({} if files is None else {"attachments": files})}

    async def send(self, interaction: discord.Interaction[Any], *, ephemeral: bool = True) -> None:
        if len(self.pages) == 1:
            await _respond(interaction, embed=self.pages[0], ephemeral=ephemeral)
            return
        await _respond(interaction, embed=self.pages[0], view=self, ephemeral=ephemeral)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Paginator]) -> None:
        self.index = max(0, self.index - 1)
        self._update_buttons()
        await interaction.response.edit_message(**self._turned())

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Paginator]) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        self._update_buttons()
        await interaction.response.edit_message(**self._turned())


async def _respond(interaction: discord.Interaction[Any], *, ephemeral: bool, **kwargs: Any) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
