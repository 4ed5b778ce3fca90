-- 120: link previews (fcgi-app/link_preview.h) are on for messaging and team channels, as on
-- getstream.io; a type created later starts from messaging's settings, so with them too. Until now
-- url_enrichment could only be false, so no app chose that value: the seeded false is switched.
-- Livestream stays off: its channels are large and busy.
UPDATE channel_types
   SET config = jsonb_set(config, '{url_enrichment}', 'true'::jsonb), updated_at = now()
 WHERE name IN ('messaging', 'team') AND config->'url_enrichment' = 'false'::jsonb;
