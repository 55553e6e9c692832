-- Webhooks: endpoints, the outbox of deliveries (one per endpoint and event) and the attempt log.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode INTEGER NOT NULL,
    url TEXT NOT NULL,
    -- '*' or ',type,family.*,' so that one escaped LIKE matches an event type on both engines
    enabled_events TEXT NOT NULL,
    -- encrypted under a key derived from the server's key-hash secret
    secret TEXT NOT NULL,
    -- the secret before the last rotation, still signed with until it expires
    previous_secret TEXT,
    previous_secret_expires_at INTEGER,
    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_list ON webhook_endpoints (merchant_id, livemode, created_at, id);

CREATE TABLE webhook_deliveries (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events (id),
    merchant_id TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- a delivery pass owns the row until lease_until; only the holder of lease_token records the attempt
    lease_until INTEGER,
    lease_token TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events (id),
    event_type TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at INTEGER NOT NULL,
    response_status INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX webhook_attempts_list ON webhook_attempts (endpoint_id, attempted_at, id);
CREATE INDEX webhook_attempts_age ON webhook_attempts (attempted_at);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (updated_at);
