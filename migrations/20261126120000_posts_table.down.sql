-- strata:revision 20261126120000

DROP INDEX ix_post_user_id;
DROP INDEX ix_post_timestamp;
DROP TABLE post;
