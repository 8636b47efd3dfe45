-- The session check of every request as a PL/pgSQL function, so that a
-- server connection plans it once and keeps the plan: through a connection
-- pooler in transaction mode no prepared statement survives, and parsing
-- and planning the join of sessions and users on every request cost more
-- than running it. The body is the SQL SQLite runs inline;
-- internal/storage/postgres_functions.go generates this file (a test
-- compares them). SQLite's migration 0006 is empty.
CREATE FUNCTION insta485_viewer(text, text, bigint)
  RETURNS TABLE (username varchar, fullname varchar, email varchar, filename varchar, password varchar, created timestamp)
  LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT u.username, u.fullname, u.email, u.filename, u.password, u.created FROM sessions s JOIN users u ON u.username = s.username WHERE s.id = $2 AND s.expires >= $3 AND s.username = $1;
END $$;
