-- 090: a user's privacy settings (getstream.io's privacy_settings): {"typing_indicators",
-- "read_receipts", "delivery_receipts": {"enabled": bool}}, each on when absent. With one off, the
-- others in the user's channels are not told of its typing, its reads or its deliveries.
ALTER TABLE users ADD COLUMN IF NOT EXISTS privacy_settings jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(privacy_settings) = 'object');
