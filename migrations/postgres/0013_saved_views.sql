-- A team's named views of the transaction list: the filter's query string, normalized when it
-- was saved. Names are unique per merchant.
CREATE TABLE saved_views (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (merchant_id, name)
);
-- Housekeeping forgets sessions past their limits.
CREATE INDEX staff_sessions_seen ON staff_sessions (last_seen_at);
