-- strata:revision 20261126110405

-- drop index 'ix_user_email'
DROP INDEX "ix_user_email";

-- drop index 'ix_user_username'
DROP INDEX "ix_user_username";

-- drop table 'user'
-- strata:destructive
DROP TABLE "user";
