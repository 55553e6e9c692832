-- Payment core: merchants, keys, intents, refunds, transactions, ledger, events, idempotency.
-- Timestamps are milliseconds since the Unix epoch (BIGINT); money is BIGINT minor units.

CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    event_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    kind TEXT NOT NULL CHECK (kind IN ('publishable', 'secret')),
    livemode BOOLEAN NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

CREATE TABLE payment_intents (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    amount_captured BIGINT NOT NULL DEFAULT 0,
    amount_refunded BIGINT NOT NULL DEFAULT 0,
    merchant_order_id TEXT NOT NULL,
    order_name TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    -- lower-cased in Rust (Unicode), so name search behaves the same on both engines
    customer_name_search TEXT NOT NULL,
    customer_email TEXT,
    confirm_mode TEXT NOT NULL,
    metadata TEXT NOT NULL,
    approval_code TEXT NOT NULL UNIQUE,
    approval_url TEXT NOT NULL,
    connector TEXT,
    connector_ref TEXT,
    failure_code TEXT,
    failure_message TEXT,
    cancellation_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    confirm_deadline BIGINT,
    -- recovery of an intent left processing: attempts so far, and not before this time
    recovery_attempts BIGINT NOT NULL DEFAULT 0,
    next_recovery_at BIGINT NOT NULL DEFAULT 0,
    -- a backstop under the compare-and-set updates: never refund more than was captured
    CHECK (amount_captured >= 0 AND amount_captured <= amount),
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured)
);
CREATE INDEX payment_intents_list ON payment_intents (merchant_id, livemode, created_at, id);
CREATE INDEX payment_intents_due ON payment_intents (status, expires_at);
CREATE INDEX payment_intents_stale ON payment_intents (status, updated_at);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    payment_intent_id TEXT NOT NULL REFERENCES payment_intents (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    failure_code TEXT,
    connector_ref TEXT,
    idempotency_key TEXT,
    -- settlement of a refund left pending: attempts so far, and not before this time
    settle_attempts BIGINT NOT NULL DEFAULT 0,
    next_settle_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX refunds_list ON refunds (merchant_id, livemode, created_at, id);
CREATE INDEX refunds_intent ON refunds (payment_intent_id);
CREATE UNIQUE INDEX refunds_idempotency ON refunds (merchant_id, livemode, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('payment', 'cancel', 'refund')),
    status TEXT NOT NULL,
    payment_intent_id TEXT NOT NULL REFERENCES payment_intents (id),
    refund_id TEXT REFERENCES refunds (id),
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_name_search TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX transactions_list ON transactions (merchant_id, livemode, created_at, id);
-- at most one capture and one cancel per intent, whatever the application does
CREATE UNIQUE INDEX transactions_one_payment ON transactions (payment_intent_id) WHERE type = 'payment';
CREATE UNIQUE INDEX transactions_one_cancel ON transactions (payment_intent_id) WHERE type = 'cancel';
CREATE UNIQUE INDEX transactions_one_per_refund ON transactions (refund_id) WHERE refund_id IS NOT NULL;

CREATE TABLE ledger_postings (
    id TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_postings_transaction ON ledger_postings (transaction_id);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode BOOLEAN NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (merchant_id, seq)
);
CREATE INDEX events_object ON events (object_id, seq);

CREATE TABLE idempotency_keys (
    merchant_id TEXT NOT NULL,
    livemode BOOLEAN NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status BIGINT,
    response_body TEXT,
    -- who holds the key now: only that request may complete or release it
    lease_token TEXT NOT NULL,
    locked_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode, method, path, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- the ledger and the event log are append-only
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
