-- The post and the feed page as PL/pgSQL functions, so that a server
-- connection plans their queries once and keeps the plans: through a
-- connection pooler in transaction mode no prepared statement survives, and
-- these queries cost more to plan than to run. The bodies are the SQL that
-- SQLite runs inline; internal/storage/postgres_functions.go generates this
-- file (a test compares them). SQLite's migration 0005 is empty.
CREATE FUNCTION insta485_post(text, bigint, boolean) RETURNS json
  LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF $3 THEN
    RETURN (SELECT COALESCE(json_agg(json_build_object('id', p.postid, 'f', p.filename, 'o', p.owner, 'of', o.filename, 'c', floor(extract(epoch FROM p.created))::bigint, 'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid), 'm', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0), 'cm', (SELECT COALESCE(json_agg(json_build_object('id', c.commentid, 'o', c.owner, 't', c.text, 'c', floor(extract(epoch FROM c.created))::bigint) ORDER BY c.commentid), '[]'::json) FROM comments c WHERE c.postid = p.postid), 'w', pic.width, 'h', pic.height, 'pc', pic.color) ORDER BY p.postid DESC), '[]'::json) FROM posts p LEFT JOIN pictures pic ON pic.filename = p.filename JOIN users o ON o.username = p.owner WHERE p.postid = $2);
  END IF;
  IF NOT $3 THEN
    RETURN (SELECT COALESCE(json_agg(json_build_object('id', p.postid, 'f', p.filename, 'o', p.owner, 'of', o.filename, 'c', floor(extract(epoch FROM p.created))::bigint, 'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid), 'm', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0), 'cm', (SELECT COALESCE(json_agg(json_build_object('id', c.commentid, 'o', c.owner, 't', c.text, 'c', floor(extract(epoch FROM c.created))::bigint) ORDER BY c.commentid), '[]'::json) FROM comments c WHERE c.postid = p.postid)) ORDER BY p.postid DESC), '[]'::json) FROM posts p JOIN users o ON o.username = p.owner WHERE p.postid = $2);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION insta485_feed(text, bigint, bigint, bigint, boolean, boolean, boolean) RETURNS json
  LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF $5 AND $7 AND $6 THEN
    RETURN (SELECT json_build_object('posts', (SELECT COALESCE(json_agg(json_build_object('id', p.postid, 'f', p.filename, 'o', p.owner, 'of', o.filename, 'c', floor(extract(epoch FROM p.created))::bigint, 'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid), 'm', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0), 'cm', (SELECT COALESCE(json_agg(json_build_object('id', c.commentid, 'o', c.owner, 't', c.text, 'c', floor(extract(epoch FROM c.created))::bigint) ORDER BY c.commentid), '[]'::json) FROM comments c WHERE c.postid = p.postid), 'w', pic.width, 'h', pic.height, 'pc', pic.color) ORDER BY p.postid DESC), '[]'::json) FROM (SELECT postid FROM feed WHERE username = $1 AND postid <= $2 ORDER BY postid DESC LIMIT $3 OFFSET $4) x JOIN posts p ON p.postid = x.postid LEFT JOIN pictures pic ON pic.filename = p.filename JOIN users o ON o.username = p.owner ), 'newest', COALESCE((SELECT postid FROM feed WHERE username = $1 ORDER BY postid DESC LIMIT 1), 0)));
  END IF;
  IF $5 AND NOT $7 AND $6 THEN
    RETURN (SELECT json_build_object('posts', (SELECT COALESCE(json_agg(json_build_object('id', p.postid, 'f', p.filename, 'o', p.owner, 'of', o.filename, 'c', floor(extract(epoch FROM p.created))::bigint, 'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid), 'm', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0), 'cm', (SELECT COALESCE(json_agg(json_build_object('id', c.commentid, 'o', c.owner, 't', c.text, 'c', floor(extract(epoch FROM c.created))::bigint) ORDER BY c.commentid), '[]'::json) FROM comments c WHERE c.postid = p.postid), 'w', pic.width, 'h', pic.height, 'pc', pic.color) ORDER BY p.postid DESC), '[]'::json) FROM (SELECT postid FROM feed WHERE username = $1 AND postid <= $2 ORDER BY postid DESC LIMIT $3 OFFSET $4) x JOIN posts p ON p.postid = x.postid LEFT JOIN pictures pic ON pic.filename = p.filename JOIN users o ON o.username = p.owner )));
  END IF;
  IF $5 AND $7 AND NOT $6 THEN
    RETURN (SELECT json_build_object('posts', (SELECT COALESCE(json_agg(json_build_object('id', p.postid, 'f', p.filename, 'o', p.owner, 'of', o.filename, 'c', floor(extract(epoch FROM p.created))::bigint, 'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid), 'm', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0), 'cm', (SELECT COALESCE(json_agg(json_build_object('id', c.commentid, 'o', c.owner, 't', c.text, 'c', floor(extract(epoch FROM c.created))::bigint) ORDER BY c.commentid), '[]'::json) FROM comments c WHERE c.postid = p.postid)) ORDER BY p.postid DESC), '[]'::json) FROM (SELECT postid FROM feed WHERE username = $1 AND postid <= $2 ORDER BY postid DESC LIMIT $3 OFFSET $4) x JOIN posts p ON p.postid = x.postid JOIN users o ON o.username = p.owner ), 'newest', COALESCE((SELECT postid FROM feed WHERE username = $1 ORDER BY postid DESC LIMIT 1), 0)));
  END IF;
  IF $5 AND NOT $7 AND NOT $6 THEN
    RETURN (SELECT json_build_object('posts', (SELECT COALESCE(json_agg(json_build_object('id', p.postid, 'f', p.filename, 'o', p.owner, 'of', o.filename, 'c', floor(extract(epoch FROM p.created))::bigint, 'l', (SELECT count(*) FROM likes l WHERE l.postid = p.postid), 'm', COALESCE((SELECT l.likeid FROM likes l WHERE l.postid = p.postid AND l.owner = $1), 0), 'cm', (SELECT COALESCE(json_agg(json_build_object('id', c.commentid, 'o', c.owner, 't', c.text, 'c', floor(extract(epoch FROM c.created))::bigint) ORDER BY c.commentid), '[]'::json) FROM comments c WHERE c.postid = p.postid)) ORDER BY p.postid DESC), '[]'::json) FROM (SELECT postid FROM feed WHERE username = $1 AND postid <= $2 ORDER BY postid DESC LIMIT $3 OFFSET $4) x JOIN posts p ON p.postid = x.postid JOIN users o ON o.username = p.owner )));
  END IF;
  IF NOT $5 AND $7 THEN
    RETURN (SELECT json_build_object('ids', (SELECT COALESCE(json_agg(x.postid ORDER BY x.postid DESC), '[]'::json) FROM (SELECT postid FROM feed WHERE username = $1 AND postid <= $2 ORDER BY postid DESC LIMIT $3 OFFSET $4) x), 'newest', COALESCE((SELECT postid FROM feed WHERE username = $1 ORDER BY postid DESC LIMIT 1), 0)));
  END IF;
  IF NOT $5 AND NOT $7 THEN
    RETURN (SELECT json_build_object('ids', (SELECT COALESCE(json_agg(x.postid ORDER BY x.postid DESC), '[]'::json) FROM (SELECT postid FROM feed WHERE username = $1 AND postid <= $2 ORDER BY postid DESC LIMIT $3 OFFSET $4) x)));
  END IF;
  RETURN NULL;
END $$;
