-- strata:revision 20261126120000
-- strata:parent   20261126110405
-- strata:message  posts table
-- strata:created  2026-11-26T13:04:24Z

-- add table 'post'
CREATE TABLE post (
    id        INTEGER NOT NULL PRIMARY KEY,
    body      VARCHAR(140) NOT NULL,
    timestamp DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    user_id   INTEGER NOT NULL REFERENCES "user" (id)
);

-- add index 'ix_post_timestamp'
CREATE INDEX ix_post_timestamp ON post (timestamp);

-- add index 'ix_post_user_id'
CREATE INDEX ix_post_user_id ON post (user_id);
