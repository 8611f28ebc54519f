-- strata:revision 20261126110405
-- strata:parent   base
-- strata:message  users table
-- strata:created  2026-11-26T13:04:24Z

-- add table 'user'
CREATE TABLE "user" (
    id            INTEGER NOT NULL PRIMARY KEY,
    username      VARCHAR(64) NOT NULL,
    email         VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256)
);

-- add index 'ix_user_username'
CREATE UNIQUE INDEX ix_user_username ON "user" (username);

-- add index 'ix_user_email'
CREATE UNIQUE INDEX ix_user_email ON "user" (email);
