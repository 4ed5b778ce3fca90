-- 002: the chat model (issue 3): channel types, channels, members, messages, reactions, reads,
-- mutes, blocks, flags, bans, and the per-channel event log that makes delivery provable.

-- Channel types carry getstream.io's ChannelConfig and the permission policy of their kind.
CREATE TABLE channel_types (
    name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_-]{1,64}$'),
    -- 'members': only members read and write (messaging, team)
    -- 'public_read': anyone reads, members write (livestream)
    policy     text NOT NULL CHECK (policy IN ('members', 'public_read')),
    config     jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO channel_types (name, policy, config) VALUES
    ('messaging', 'members', '{"typing_events":true,"read_events":true,"connect_events":true,"reactions":true,"replies":true,"quotes":true,"uploads":false,"mutes":true,"search":false,"url_enrichment":false,"custom_events":true,"push_notifications":true,"delivery_events":false,"polls":false,"shared_locations":false,"user_message_reminders":false,"reminders":false,"mark_messages_pending":false,"skip_last_msg_update_for_system_msgs":false,"max_message_length":5000,"message_retention":"infinite","automod":"disabled","commands":[]}'),
    ('team', 'members', '{"typing_events":true,"read_events":true,"connect_events":true,"reactions":true,"replies":true,"quotes":true,"uploads":false,"mutes":true,"search":false,"url_enrichment":false,"custom_events":true,"push_notifications":true,"delivery_events":false,"polls":false,"shared_locations":false,"user_message_reminders":false,"reminders":false,"mark_messages_pending":false,"skip_last_msg_update_for_system_msgs":false,"max_message_length":5000,"message_retention":"infinite","automod":"disabled","commands":[]}'),
    ('livestream', 'public_read', '{"typing_events":false,"read_events":false,"connect_events":true,"reactions":true,"replies":true,"quotes":true,"uploads":false,"mutes":true,"search":false,"url_enrichment":false,"custom_events":true,"push_notifications":false,"delivery_events":false,"polls":false,"shared_locations":false,"user_message_reminders":false,"reminders":false,"mark_messages_pending":false,"skip_last_msg_update_for_system_msgs":false,"max_message_length":5000,"message_retention":"infinite","automod":"disabled","commands":[]}');

CREATE TABLE channels (
    pk          bigserial PRIMARY KEY,
    cid         text NOT NULL UNIQUE,
    type        text NOT NULL REFERENCES channel_types (name),
    id          text NOT NULL CHECK (id ~ '^[A-Za-z0-9_!-]{1,64}$'),
    name        text,
    image       text,
    custom      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    team        text,
    created_by  text REFERENCES users (id),
    frozen      boolean NOT NULL DEFAULT false,
    disabled    boolean NOT NULL DEFAULT false,
    cooldown    integer NOT NULL DEFAULT 0 CHECK (cooldown >= 0),
    member_count integer NOT NULL DEFAULT 0,
    -- Distinct channels (by members) remember their member set.
    distinct_members text[],
    last_message_at timestamptz,
    -- The newest message timestamp handed out, thread replies included: each new message gets a
    -- later one (by at least 1 ms), so created_at is strictly increasing per channel.
    last_stamp  timestamptz,
    -- The newest event sequence number of this channel's event log.
    event_seq   bigint NOT NULL DEFAULT 0,
    truncated_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (type, id)
);
CREATE INDEX channels_last_message ON channels (last_message_at DESC NULLS LAST, pk);
CREATE INDEX channels_created ON channels (created_at DESC, pk);
CREATE UNIQUE INDEX channels_distinct ON channels (type, distinct_members) WHERE distinct_members IS NOT NULL;

CREATE TABLE members (
    channel_pk   bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- channel_member, channel_moderator or owner
    channel_role text NOT NULL DEFAULT 'channel_member'
                 CHECK (channel_role IN ('channel_member', 'channel_moderator', 'owner')),
    invited      boolean NOT NULL DEFAULT false,
    invite_accepted_at timestamptz,
    invite_rejected_at timestamptz,
    notifications_muted boolean NOT NULL DEFAULT false,
    hidden       boolean NOT NULL DEFAULT false,
    -- Messages up to this point are not shown to this member (hide with clear_history, hide_history).
    history_cleared_at timestamptz,
    pinned_at    timestamptz,
    archived_at  timestamptz,
    -- Read state.
    last_read_at timestamptz NOT NULL DEFAULT now(),
    last_read_message_id text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_pk, user_id)
);
CREATE INDEX members_by_user ON members (user_id, channel_pk);
CREATE INDEX members_roster ON members (channel_pk, created_at, user_id);

-- Channel bans (app-wide bans live on users). A banned user need not be a member.
CREATE TABLE channel_bans (
    channel_pk  bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned_by   text REFERENCES users (id) ON DELETE SET NULL,
    reason      text,
    shadow      boolean NOT NULL DEFAULT false,
    expires     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_pk, user_id)
);

CREATE TABLE messages (
    -- Internal, strictly increasing: the tie-breaker of every cursor (ids are client UUIDs).
    pk           bigserial PRIMARY KEY,
    id           text NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 255),
    channel_pk   bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id),
    type         text NOT NULL DEFAULT 'regular'
                 CHECK (type IN ('regular', 'reply', 'system', 'deleted', 'error', 'ephemeral')),
    text         text NOT NULL DEFAULT '',
    html         text NOT NULL DEFAULT '',
    attachments  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
    mentioned_users text[] NOT NULL DEFAULT '{}',
    custom       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    parent_id    text,
    show_in_channel boolean NOT NULL DEFAULT false,
    quoted_message_id text,
    reply_count  integer NOT NULL DEFAULT 0,
    deleted_reply_count integer NOT NULL DEFAULT 0,
    thread_participants text[] NOT NULL DEFAULT '{}',
    silent       boolean NOT NULL DEFAULT false,
    shadowed     boolean NOT NULL DEFAULT false,
    pinned       boolean NOT NULL DEFAULT false,
    pinned_at    timestamptz,
    pinned_by    text,
    pin_expires  timestamptz,
    -- {"love": {"count": 2, "sum_scores": 2, "first_reaction_at": "...", "last_reaction_at": "..."}}
    reaction_groups jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    message_text_updated_at timestamptz
);
-- The channel page: top-level messages and replies shown in the channel, newest first or by cursor.
CREATE INDEX messages_channel_page ON messages (channel_pk, created_at, pk)
    WHERE parent_id IS NULL OR show_in_channel;
-- Everything of a channel in time order (unread counts, truncation, events).
CREATE INDEX messages_channel_all ON messages (channel_pk, created_at, pk);
CREATE INDEX messages_thread ON messages (parent_id, created_at, pk) WHERE parent_id IS NOT NULL;
CREATE INDEX messages_pinned ON messages (channel_pk, pinned_at DESC) WHERE pinned;

CREATE TABLE reactions (
    message_pk  bigint NOT NULL REFERENCES messages (pk) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type ~ '^[A-Za-z0-9_+-]{1,64}$'),
    score       integer NOT NULL DEFAULT 1,
    custom      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_pk, user_id, type)
);
CREATE INDEX reactions_latest ON reactions (message_pk, created_at DESC);

CREATE TABLE user_mutes (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, target_id)
);

CREATE TABLE channel_mutes (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_pk bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    expires    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_pk)
);
CREATE INDEX channel_mutes_by_channel ON channel_mutes (channel_pk);

CREATE TABLE user_blocks (
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, blocked_user_id)
);

CREATE TABLE flags (
    pk                bigserial PRIMARY KEY,
    user_id           text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_message_id text,
    target_user_id    text REFERENCES users (id) ON DELETE CASCADE,
    reason            text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((target_message_id IS NULL) <> (target_user_id IS NULL))
);
CREATE UNIQUE INDEX flags_message ON flags (user_id, target_message_id) WHERE target_message_id IS NOT NULL;
CREATE UNIQUE INDEX flags_user ON flags (user_id, target_user_id) WHERE target_user_id IS NOT NULL;

-- Every persisted channel event, with its per-channel sequence number: what /api/sync/ and the
-- room-socket resume replay, and what proves that a client missed nothing.
CREATE TABLE channel_events (
    channel_pk bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    type       text NOT NULL,
    payload    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_pk, seq)
);
CREATE INDEX channel_events_time ON channel_events (channel_pk, created_at);
CREATE INDEX channel_events_prune ON channel_events (created_at);

-- A new message un-hides the channel for members who hid it: cheap to find them.
CREATE INDEX members_hidden ON members (channel_pk) WHERE hidden;
