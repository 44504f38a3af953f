"""The program's core records every capability shares: members, tiers, settings, channel bindings, the audit trail."""
