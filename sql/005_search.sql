-- 005: message search (issue 11, docs/uploads.md "Search"). Full-text search over messages.text
-- with PostgreSQL's 'simple' configuration: words are lower-cased and split, with no stemming and
-- no stop words, so it works the same for every language that separates words with spaces (and
-- "running" does not find "run"). The index is on the expression; queries use the same one.
-- On a large existing table, build it first by hand with CREATE INDEX CONCURRENTLY under the
-- same name: this migration then only turns the flag on.
CREATE INDEX IF NOT EXISTS messages_text_search ON messages USING gin (to_tsvector('simple', text));

-- Search works now: every channel type allows it (the search-messages capability follows).
UPDATE channel_types SET config = config || '{"search": true}'::jsonb, updated_at = now();
