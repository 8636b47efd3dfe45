-- Nothing on SQLite: PostgreSQL's migration 0006 makes the session check,
-- the like and the unlike functions so that their plans survive a
-- connection pooler; SQLite keeps its statements prepared on each
-- connection. The number keeps the two engines' versions in step.
SELECT 1;
