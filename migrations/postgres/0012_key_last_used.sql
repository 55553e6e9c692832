-- When each API key last authenticated a request, to the minute: written at most once a minute
-- per key, so the auth path stays a read.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
