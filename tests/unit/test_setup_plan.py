"""/setup's plan as data: what to create, adopt or keep, and which overwrites need repair."""

from __future__ import annotations

from bot.services.program import setup_plan as sp
from bot.services.program.tiers import Tier


def test_the_plan_has_roles_category_and_private_channels() -> None:
    plan = sp.build_plan([Tier("creator", "Creator", 1000, "", 0)])
    assert [r.name for r in plan.roles] == ["Ambassador", "Program Moderator", "Creator tier"]
    assert {c.key for c in plan.channels} >= {"announcements", "briefs", "review", "audit", "focus_group"}
    review = next(c for c in plan.channels if c.key == "review")
    assert sp.overwrites_for(review)["ambassador"] == (0, sp.VIEW_CHANNEL)
    assert sp.overwrites_for(review)["everyone"] == (0, sp.VIEW_CHANNEL)
    briefs = next(c for c in plan.channels if c.key == "briefs")
    allow, deny = sp.overwrites_for(briefs)["ambassador"]
    assert allow & sp.VIEW_CHANNEL and deny & sp.SEND_MESSAGES  # read-only for ambassadors
    focus = next(c for c in plan.channels if c.key == "focus_group")
    assert sp.overwrites_for(focus)["ambassador"][0] & sp.SEND_MESSAGES


def test_an_empty_server_creates_everything() -> None:
    plan = sp.build_plan([])
    result = sp.reconcile(plan, sp.Existing(roles={}, channels={}, bindings={}))
    assert {s.kind for s in [*result.roles, *result.channels]} == {"create"}
    assert result.category is not None and result.category.kind == "create"


def test_a_second_run_keeps_and_adopts_instead_of_creating() -> None:
    plan = sp.build_plan([])
    bindings = {"role:ambassador": 1, "role:moderator": 2, "channel:category": 10}
    channels: dict[int, tuple[str, bool, int | None]] = {10: ("Ambassador Program", True, None)}
    for offset, spec in enumerate(plan.channels, start=11):
        channels[offset] = (spec.name, False, 10)
        bindings[spec.purpose] = offset
    existing = sp.Existing(roles={1: "Ambassador", 2: "Program Moderator"}, channels=channels, bindings=bindings)
    result = sp.reconcile(plan, existing)
    assert {s.kind for s in [*result.roles, *result.channels]} == {"keep"}
    # Bindings lost (e.g. a fresh database): same-named things are adopted, not duplicated.
    adopted = sp.reconcile(plan, sp.Existing(roles=existing.roles, channels=channels, bindings={}))
    assert {s.kind for s in [*adopted.roles, *adopted.channels]} == {"adopt"}
    assert adopted.category is not None and adopted.category.kind == "adopt"


def test_a_public_channel_of_the_same_name_elsewhere_is_not_adopted() -> None:
    plan = sp.build_plan([])
    existing = sp.Existing(roles={}, channels={5: ("announcements", False, None)}, bindings={})
    result = sp.reconcile(plan, existing)
    announcements = next(s for s in result.channels if s.purpose == "channel:announcements")
    assert announcements.kind == "create"


def test_repair_adds_only_what_is_missing() -> None:
    desired = {1: (sp.VIEW_CHANNEL, 0), 2: (0, sp.VIEW_CHANNEL)}
    actual = {1: (sp.VIEW_CHANNEL | sp.SEND_MESSAGES, 0), 2: (0, sp.VIEW_CHANNEL), 3: (sp.VIEW_CHANNEL, 0)}
    assert not sp.needs_repair(desired, actual)
    broken = {1: (0, sp.VIEW_CHANNEL), 3: (sp.VIEW_CHANNEL, 0)}
    assert sp.needs_repair(desired, broken)
    fixed = sp.repaired(desired, broken)
    assert fixed[1] == (sp.VIEW_CHANNEL, 0) and fixed[2] == (0, sp.VIEW_CHANNEL) and fixed[3] == (sp.VIEW_CHANNEL, 0)


def test_preflight_names_what_to_change() -> None:
    everything = {p.attribute for p in sp.BOT_PERMISSIONS}
    lacking = sp.missing_bot_permissions(everything - {"manage_channels"})
    assert [p.label for p in lacking] == ["Manage Channels"]
    assert sp.labels(lacking) == "**Manage Channels**"
    assert sp.missing_bot_permissions(everything) == []
    # Create Events is not needed by /setup itself: /setup goes on and says it is still missing.
    assert sp.missing_bot_permissions(everything - {"create_events"}) == []
    assert [p.label for p in sp.missing_bot_permissions(everything - {"create_events"}, for_setup=False)] == [
        "Create Events"
    ]
    assert sp.unassignable({"Ambassador": 5, "Creator tier": 2}, bot_top_position=4) == ["Ambassador"]


def test_every_overwrite_the_plan_writes_stays_within_the_invite() -> None:
    """Discord refuses an overwrite that allows or denies a permission the bot lacks: with README's invite (no
    Administrator) /setup can only write bits from that invite."""
    plans = [sp.overwrites_for(spec) for spec in [sp.CATEGORY, *sp.CHANNELS]] + [sp.private_welcome_overwrites()]
    for plan in plans:
        for allow, deny in plan.values():
            assert (allow | deny) & ~sp.INVITE_PERMISSIONS == 0


def test_invite_integer_matches_readme_and_the_emulator() -> None:
    from pathlib import Path

    from emulator.permissions import README_BOT

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert sp.INVITE_PERMISSIONS == README_BOT
    assert f"permissions={sp.INVITE_PERMISSIONS}" in readme
    for permission in sp.BOT_PERMISSIONS:
        assert permission.label in readme
