-- strata:revision 20261126110405
-- strata:parent   base
-- strata:message  users table
-- strata:created  2026-11-26T11:04:05Z

CREATE TABLE "user" (
    id            INTEGER NOT NULL PRIMARY KEY,
    username      VARCHAR(64) NOT NULL,
    email         VARCHAR(120) NOT NULL,
    password_hash VARCHAR(256)
);
CREATE UNIQUE INDEX ix_user_username ON "user" (username);
CREATE UNIQUE INDEX ix_user_email ON "user" (email);
