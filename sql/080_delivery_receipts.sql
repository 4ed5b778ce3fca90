-- 080: delivery receipts (getstream.io's `delivery_events`, off by default in every channel type).
-- A member's device confirms the newest channel message it has received (POST /channels/delivered);
-- the point only moves forward, and is kept beside the read point it precedes. The time is the
-- delivered message's created_at, so that a client locating the point among its messages by time
-- (stream-chat's receipts tracker) lands on that message, not on one received later.
ALTER TABLE members
    ADD COLUMN IF NOT EXISTS last_delivered_at timestamptz,
    ADD COLUMN IF NOT EXISTS last_delivered_message_id text;
