"""PostgreSQL's migrations: one twin per file in ``migrations`` (same number and name, the same schema)."""
