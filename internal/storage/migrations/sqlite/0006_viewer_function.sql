-- Nothing on SQLite: PostgreSQL's migration 0006 makes the session check a
-- function so that its plan survives a connection pooler; SQLite keeps its
-- statements prepared on each connection. The number keeps the two
-- engines' versions in step.
SELECT 1;
