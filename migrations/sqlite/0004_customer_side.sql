-- Customer side: wallet accounts with their sign-in state and refresh-token families; wallets,
-- the wallet-balance connector's own book; and which customer approved which intent.

ALTER TABLE payment_intents ADD COLUMN customer_id TEXT;
-- the app-facing forms of the approval link, fixed when the intent is created
ALTER TABLE payment_intents ADD COLUMN approval_app_url TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_intents ADD COLUMN approval_intent_url TEXT NOT NULL DEFAULT '';
CREATE INDEX payment_intents_customer ON payment_intents (customer_id, created_at, id) WHERE customer_id IS NOT NULL;

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    -- lower-cased email, or an E.164 phone number: each signs in one account
    email TEXT UNIQUE,
    phone TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    failed_signins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL,
    CHECK (email IS NOT NULL OR phone IS NOT NULL)
);

-- Refresh tokens rotate: each use spends the token and issues the next in its family; presenting
-- a spent token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE wallets (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    livemode INTEGER NOT NULL,
    currency TEXT NOT NULL,
    balance INTEGER NOT NULL CHECK (balance >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (customer_id, livemode, currency)
);

-- The wallet connector's decisions: one per reference (the intent id), whatever is asked again.
CREATE TABLE wallet_authorizations (
    reference TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL CHECK (status IN ('declined', 'held', 'captured', 'voided')),
    refunded INTEGER NOT NULL DEFAULT 0,
    decline_code TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (refunded >= 0 AND refunded <= amount)
);

-- Every movement of a wallet's balance, signed; the balance is always their sum.
CREATE TABLE wallet_entries (
    id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'top_up', 'hold', 'release', 'refund')),
    amount INTEGER NOT NULL,
    reference TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- a hold, release or refund happens once per reference, a top-up once per idempotency key
    UNIQUE (wallet_id, kind, reference)
);
CREATE INDEX wallet_entries_wallet ON wallet_entries (wallet_id, created_at);
