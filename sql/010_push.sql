-- 010: push notifications. Web Push subscriptions and the VAPID key pair that signs their pushes
-- (API.md §3, docs/push.md), and getstream.io's mobile push devices (STREAM-PROTOCOL.md §4.5).

-- The application server's VAPID key pair. Generated once by the application (PostgreSQL cannot
-- make P-256 keys), replaced by `streambed-api rotate-vapid`. Retired keys are kept for the record
-- but never sign again. Keys are base64url: the 65-byte uncompressed public point and the 32-byte
-- private scalar. The private key is a secret: protect database backups accordingly.
CREATE TABLE vapid_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_key  text NOT NULL CHECK (length(public_key) = 87),
    private_key text NOT NULL CHECK (length(private_key) = 43),
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
-- At most one current key: the application's "create when missing" relies on this to be race-free.
CREATE UNIQUE INDEX vapid_keys_one_current ON vapid_keys ((true)) WHERE retired_at IS NULL;

-- A browser's PushSubscription. The endpoint is a capability URL minted by the browser's push
-- service: unique across users (a browser profile registered again by another user moves to it).
CREATE TABLE push_subscriptions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint        text NOT NULL UNIQUE CHECK (length(endpoint) BETWEEN 1 AND 2048),
    -- base64url as the browser sent it: the 65-byte P-256 point and the 16-byte auth secret
    p256dh          text NOT NULL CHECK (length(p256dh) <= 128),
    auth            text NOT NULL CHECK (length(auth) <= 64),
    -- the browser's expirationTime; NULL when it gave none (the usual case)
    expiration_time timestamptz,
    -- the key the browser was given as applicationServerKey when it subscribed: pushes to this
    -- subscription must be signed with it, and a rotation deletes the subscriptions of the old key
    vapid_key_id    bigint NOT NULL REFERENCES vapid_keys (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_at);
CREATE INDEX push_subscriptions_key ON push_subscriptions (vapid_key_id);

-- getstream.io's devices: a mobile push token (FCM, APNs, Huawei, Xiaomi) registered for a user.
-- Stored and listed for the SDK; streambed sends Web Push only (docs/push.md).
CREATE TABLE devices (
    id                 text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 1024),
    push_provider      text NOT NULL CHECK (push_provider IN ('firebase', 'apn', 'huawei', 'xiaomi')),
    push_provider_name text CHECK (length(push_provider_name) <= 255),
    user_id            text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL DEFAULT now(),
    disabled           boolean NOT NULL DEFAULT false,
    disabled_reason    text
);
CREATE INDEX devices_user ON devices (user_id, created_at);
