// Module Postgres.
