-- 060: an index for unread counts (SB_UNREAD_COUNT in fcgi-app/store/channels.cpp). Every channel
-- query counts, for each member it lists and for the caller, the messages since that member's
-- last read, up to 999: through messages_channel_all each counted message was a heap fetch and
-- five filters. This index holds exactly the messages that can count (its predicate repeats the
-- query's, so the planner uses it) and carries the sender, so the count reads the index alone
-- once autovacuum has marked the pages visible.
CREATE INDEX IF NOT EXISTS messages_unread ON messages (channel_pk, created_at) INCLUDE (user_id)
    WHERE (parent_id IS NULL OR show_in_channel) AND NOT silent AND NOT shadowed
      AND type NOT IN ('deleted', 'system', 'error', 'ephemeral');
