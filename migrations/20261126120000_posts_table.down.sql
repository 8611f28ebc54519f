-- strata:revision 20261126120000

-- drop index 'ix_post_user_id'
DROP INDEX "ix_post_user_id";

-- drop index 'ix_post_timestamp'
DROP INDEX "ix_post_timestamp";

-- drop table 'post'
-- strata:destructive
DROP TABLE "post";
