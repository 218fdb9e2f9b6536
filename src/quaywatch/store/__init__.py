"""The store: SQLite embedded, PostgreSQL in production, one set of tables and one facade."""
