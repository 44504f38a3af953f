"""The two engines behind ``bot.db.Database``: SQLite (the embedded default) and PostgreSQL (asyncpg)."""
