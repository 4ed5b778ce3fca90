-- 140: shared locations (getstream.io's shared_locations: a static "I am here" or a live location
-- with end_at that its author's device keeps updating). The location is the message's own, as
-- {latitude, longitude, created_by_device_id, end_at?, updated_at}; the rest of the wire object
-- (channel, message, user, created_at) is the message's. The partial index finds a user's live
-- locations (GET /api/users/live_locations/) without touching the other messages.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS shared_location jsonb;
CREATE INDEX IF NOT EXISTS messages_shared_locations ON messages (user_id) WHERE shared_location IS NOT NULL;
