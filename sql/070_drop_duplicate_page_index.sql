-- 070: messages_channel_page (002) duplicated messages_channel_all's keys, (channel_pk, created_at,
-- pk), for the messages shown in a channel. The planner's generic plans never chose it:
-- pg_stat_user_indexes counted 0 scans of it against 155,545 of messages_channel_all over every
-- benchmark, whose channel pages read messages_channel_all and filter thread-only replies as they
-- fetch each row. Every insert paid for it all the same: without it a send costs PostgreSQL
-- 0.87-0.89 ms of CPU instead of 0.94-0.95 (scripts/bench's 200-channel sends, alternating).
DROP INDEX IF EXISTS messages_channel_page;
