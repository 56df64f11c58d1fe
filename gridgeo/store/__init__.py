"""The store, the one source of truth: PostgreSQL + PostGIS in production, SQLite +
SpatiaLite embedded (``core.Store``), its schema, migrations and the transactions
of each concern (versions, cases, assessment, keys ...)."""
