-- Hardening (issue #11); see the PostgreSQL migration for the reasons.
-- SQLite's lower() folds ASCII letters, the only ones new names may use.
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE sessions (
  id VARCHAR(64) NOT NULL PRIMARY KEY CHECK (length(id) <= 64),
  username VARCHAR(20) NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  expires INTEGER NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);

CREATE TABLE login_failures (
  name VARCHAR(64) NOT NULL PRIMARY KEY CHECK (length(name) <= 64),
  failures INTEGER NOT NULL,
  last_failure INTEGER NOT NULL
);
