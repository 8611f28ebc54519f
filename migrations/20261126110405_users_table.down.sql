-- strata:revision 20261126110405

DROP INDEX ix_user_email;
DROP INDEX ix_user_username;
DROP TABLE "user";
