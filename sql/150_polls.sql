-- 150: polls (getstream.io's polls, the channel type setting `polls`). A user creates a poll, then
-- sends it in one message (messages.poll_id, unique: a poll lives in one message); the channel's
-- members vote on its options, or answer in words where the poll allows answers.
CREATE TABLE polls (
    pk                           bigserial PRIMARY KEY,
    id                           text NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 255),
    name                         text NOT NULL,
    description                  text NOT NULL DEFAULT '',
    created_by                   text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    voting_visibility            text NOT NULL DEFAULT 'public' CHECK (voting_visibility IN ('public', 'anonymous')),
    enforce_unique_vote          boolean NOT NULL DEFAULT false,
    -- NULL: as many votes as there are options (enforce_unique_vote makes it one).
    max_votes_allowed            integer,
    allow_user_suggested_options boolean NOT NULL DEFAULT false,
    allow_answers                boolean NOT NULL DEFAULT false,
    is_closed                    boolean NOT NULL DEFAULT false,
    custom                       jsonb NOT NULL DEFAULT '{}',
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX polls_created_by ON polls (created_by, created_at DESC);

CREATE TABLE poll_options (
    poll_pk    bigint NOT NULL REFERENCES polls (pk) ON DELETE CASCADE,
    id         text NOT NULL,
    position   integer NOT NULL,
    text       text NOT NULL,
    custom     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (poll_pk, id)
);
-- Option texts are unique within a poll, as the kit's poll dialog demands.
CREATE UNIQUE INDEX poll_options_text ON poll_options (poll_pk, text);

-- A vote is for an option (option_id) or an answer in words (answer_text), never both. A user
-- votes for an option once and answers once; the partial unique indexes hold that even against two
-- votes at the same moment.
CREATE TABLE poll_votes (
    id          text PRIMARY KEY,
    poll_pk     bigint NOT NULL REFERENCES polls (pk) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    option_id   text,
    answer_text text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((option_id IS NULL) <> (answer_text IS NULL)),
    FOREIGN KEY (poll_pk, option_id) REFERENCES poll_options (poll_pk, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX poll_votes_option_once ON poll_votes (poll_pk, user_id, option_id) WHERE option_id IS NOT NULL;
CREATE UNIQUE INDEX poll_votes_answer_once ON poll_votes (poll_pk, user_id) WHERE option_id IS NULL;
-- The newest votes of an option, and the newest answers (option_id NULL), for a poll's read.
CREATE INDEX poll_votes_latest ON poll_votes (poll_pk, option_id, created_at DESC);

ALTER TABLE messages ADD COLUMN IF NOT EXISTS poll_id text REFERENCES polls (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX IF NOT EXISTS messages_poll ON messages (poll_id) WHERE poll_id IS NOT NULL;
