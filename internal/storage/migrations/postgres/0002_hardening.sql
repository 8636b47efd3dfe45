-- Hardening (issue #11).
--
-- Usernames are unique regardless of case: AWDEORIO may not sign up next to
-- awdeorio. Logging in still compares names exactly. `db migrate` first
-- lists any names that already differ only in case and stops, so nothing
-- is merged behind the operator's back.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

-- Sessions kept on the server, so that logging out ends a session on every
-- app server and a password change or an account deletion ends them all.
-- The signed cookie carries the id; each request reads the session and its
-- user in one query. expires is in Unix seconds.
CREATE TABLE sessions (
  id VARCHAR(64) NOT NULL PRIMARY KEY,
  username VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  expires BIGINT NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);

-- Wrong passwords per account (the lower-cased name typed, known or not, so
-- a 429 does not tell which names exist), shared by every app server.
-- last_failure is in Unix seconds.
CREATE TABLE login_failures (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_failure BIGINT NOT NULL
);
