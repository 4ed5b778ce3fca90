-- 110: what an app-wide ban was, for queryBannedUsers: who banned, why and when (a channel ban
-- keeps these on channel_bans already). Bans made before this migration have none of them.
ALTER TABLE users ADD COLUMN IF NOT EXISTS ban_reason text;
ALTER TABLE users ADD COLUMN IF NOT EXISTS banned_by text;
ALTER TABLE users ADD COLUMN IF NOT EXISTS banned_at timestamptz;
