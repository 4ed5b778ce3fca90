-- 100: threads as getstream.io's thread list shows them (queryThreads, getThread,
-- partialUpdateThread, unread threads). A thread is its parent message and the replies under it;
-- the replies stay in `messages` (parent_id). What a thread adds is kept here: its title and custom
-- data, when its last reply came, and who takes part, with each participant's read state in the
-- thread. A thread starts with its first reply.
CREATE TABLE IF NOT EXISTS threads (
    parent_pk       bigint PRIMARY KEY REFERENCES messages (pk) ON DELETE CASCADE,
    channel_pk      bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    -- The author of the parent message: who started the conversation the replies continue.
    created_by      text NOT NULL,
    title           text NOT NULL DEFAULT '' CHECK (length(title) <= 255),
    custom          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_message_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS threads_by_channel ON threads (channel_pk);

-- The parent's author and everyone who replied. A reply moves its author's read point to itself.
CREATE TABLE IF NOT EXISTS thread_participants (
    parent_pk              bigint NOT NULL REFERENCES threads (parent_pk) ON DELETE CASCADE,
    user_id                text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at             timestamptz NOT NULL,
    last_thread_message_at timestamptz,
    last_read_at           timestamptz NOT NULL,
    last_read_message_id   text,
    PRIMARY KEY (parent_pk, user_id)
);
CREATE INDEX IF NOT EXISTS thread_participants_by_user ON thread_participants (user_id, parent_pk);

-- Threads that existed before this migration: every participant starts with the thread read, as
-- members start with a channel read when they join.
INSERT INTO threads (parent_pk, channel_pk, created_by, created_at, updated_at, last_message_at)
SELECT p.pk, p.channel_pk, p.user_id, min(r.created_at), max(r.created_at), max(r.created_at)
FROM messages p JOIN messages r ON r.parent_id = p.id
WHERE p.parent_id IS NULL
GROUP BY p.pk, p.channel_pk, p.user_id
ON CONFLICT DO NOTHING;

INSERT INTO thread_participants (parent_pk, user_id, created_at, last_thread_message_at, last_read_at)
SELECT t.parent_pk, x.user_id, min(x.at), max(x.replied_at), t.last_message_at
FROM threads t
JOIN messages p ON p.pk = t.parent_pk
CROSS JOIN LATERAL (
    SELECT p.user_id, p.created_at AS at, NULL::timestamptz AS replied_at
    UNION ALL
    SELECT r.user_id, r.created_at, r.created_at FROM messages r WHERE r.parent_id = p.id
) x
GROUP BY t.parent_pk, x.user_id, t.last_message_at
ON CONFLICT DO NOTHING;
