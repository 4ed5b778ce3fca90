-- 001: users, and the two time helpers every query uses.
-- Times are timestamptz in the tables and microseconds since the epoch (bigint) on the wire
-- between PostgreSQL and the workers, so no precision is lost in either direction.

CREATE FUNCTION sb_micros(t timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;

CREATE FUNCTION sb_time(us bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT 'epoch'::timestamptz + us * interval '1 microsecond' $$;

CREATE TABLE users (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9@_.!-]{1,255}$'),
    name        text,
    image       text,
    -- app-wide role: user, admin, guest, anonymous (channel roles live on members)
    role        text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin', 'guest', 'anonymous')),
    -- custom fields, flattened into the UserResponse
    custom      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    teams       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(teams) = 'array'),
    language    text NOT NULL DEFAULT '',
    invisible   boolean NOT NULL DEFAULT false,
    -- app-wide ban (channel bans live on members)
    banned      boolean NOT NULL DEFAULT false,
    ban_expires timestamptz,
    -- tokens with an earlier iat are refused with code 42
    revoke_tokens_issued_before timestamptz,
    last_active    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz,
    deleted_at     timestamptz
);

-- Mention autocomplete: prefix search on names and ids.
CREATE INDEX users_name_prefix ON users (lower(name) text_pattern_ops);
CREATE INDEX users_id_prefix ON users (lower(id) text_pattern_ops);
