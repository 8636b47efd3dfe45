-- The session check of every request, the like and the unlike as PL/pgSQL
-- functions, so that a server connection plans them once and keeps the
-- plans: through a connection pooler in transaction mode no prepared
-- statement survives, and parsing and planning these statements on every
-- request cost more than running them. The bodies are the SQL SQLite runs
-- inline; internal/storage/postgres_functions.go generates this file (a
-- test compares them). SQLite's migration 0006 is empty.
CREATE FUNCTION insta485_viewer(text, text, bigint)
  RETURNS TABLE (username varchar, fullname varchar, email varchar, filename varchar, password varchar, created timestamp)
  LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT u.username, u.fullname, u.email, u.filename, u.password, u.created FROM sessions s JOIN users u ON u.username = s.username WHERE s.id = $2 AND s.expires >= $3 AND s.username = $1;
END $$;

CREATE FUNCTION insta485_like(text, bigint)
  RETURNS TABLE (id bigint, fresh integer)
  LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY WITH ins AS (INSERT INTO likes (owner, postid) VALUES ($1, $2)
		ON CONFLICT (postid, owner) DO NOTHING RETURNING likeid)
	SELECT likeid, 1 FROM ins
	UNION ALL SELECT likeid, 0 FROM likes WHERE postid = $2 AND owner = $1 AND NOT EXISTS (SELECT 1 FROM ins);
END $$;

CREATE FUNCTION insta485_unlike(text, bigint) RETURNS bigint
  LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  DELETE FROM likes WHERE owner = $1 AND postid = $2;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
