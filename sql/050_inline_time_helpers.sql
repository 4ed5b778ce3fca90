-- 050: the time helpers of 001, rewritten so that PostgreSQL inlines them into every query.
-- extract(epoch FROM timestamptz) and timestamptz + interval are only STABLE (they depend on the
-- session's time zone), so the IMMUTABLE SQL functions of 001 could never be inlined: each call
-- ran through the SQL-function executor, which parses and plans its body again for every query
-- that uses it (about 60% of PostgreSQL's CPU in queryChannels, measured with perf; see
-- docs/performance.md). Converting through UTC wall-clock time uses only immutable operators and
-- gives the same values, microsecond for microsecond, in any session time zone.
CREATE OR REPLACE FUNCTION sb_micros(t timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM (t AT TIME ZONE 'UTC')) * 1000000)::bigint $$;

CREATE OR REPLACE FUNCTION sb_time(us bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (timestamp '1970-01-01 00:00:00' + us * interval '1 microsecond') AT TIME ZONE 'UTC' $$;
