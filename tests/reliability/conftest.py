"""Reliability tests reuse the end-to-end harness: the real bot against the local Discord emulator."""

from tests.e2e.conftest import emu, fake_shop, runner, world  # noqa: F401
