-- Nothing on SQLite: PostgreSQL's migration 0005 makes the post and the feed
-- page functions so that their plans survive a connection pooler; SQLite
-- keeps its statements prepared on each connection. The number keeps the
-- two engines' versions in step.
SELECT 1;
