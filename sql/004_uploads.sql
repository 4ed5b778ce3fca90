-- 004: file and image uploads (issue 11, docs/uploads.md). Every stored file has a row: which
-- channel it was uploaded to and by whom, where it lies under STREAMBED_UPLOAD_DIR, and its
-- thumbnail. Deleting the message that shows it, the channel, or the upload itself removes the
-- row and the files. Rows go with their channel; the worker that deletes a channel reads them
-- first to remove the files (an orphaned file is the worst case, never a dangling URL that works).

CREATE TABLE uploads (
    key         text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{32}$'),
    channel_pk  bigint NOT NULL REFERENCES channels (pk) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES users (id),
    kind        text NOT NULL CHECK (kind IN ('image', 'file')),
    -- Relative to STREAMBED_UPLOAD_DIR: i/<key>.<ext> or f/<key>/<name>; the thumbnail i/<key>.thumb.<ext>.
    path        text NOT NULL,
    thumb_path  text,
    name        text NOT NULL,
    mime_type   text NOT NULL,
    size        bigint NOT NULL CHECK (size > 0),
    width       integer,
    height      integer,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_channel ON uploads (channel_pk, created_at);
CREATE INDEX uploads_user ON uploads (user_id, created_at);

-- Uploads work now: every channel type allows them (the upload-file capability follows).
UPDATE channel_types SET config = config || '{"uploads": true}'::jsonb, updated_at = now();
