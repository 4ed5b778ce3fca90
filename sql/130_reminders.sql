-- 130: message reminders (getstream.io's "Remind me" and "Save for later", the channel type
-- setting user_message_reminders): one per user and message, with a time or without one (saved for
-- later). notified_at is when notification.reminder_due went out for the current remind_at;
-- streambed-push looks for the due ones through the partial index.
CREATE TABLE message_reminders (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_pk  bigint NOT NULL REFERENCES messages (pk) ON DELETE CASCADE,
    channel_pk  bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    remind_at   timestamptz,
    notified_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, message_pk)
);
CREATE INDEX message_reminders_message ON message_reminders (message_pk);
CREATE INDEX message_reminders_channel ON message_reminders (channel_pk);
CREATE INDEX message_reminders_due ON message_reminders (remind_at)
    WHERE notified_at IS NULL AND remind_at IS NOT NULL;
