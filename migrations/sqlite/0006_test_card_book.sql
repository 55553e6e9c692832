-- The test card processor's own book, durable like a real processor's: one decision per
-- reference (our intent id), so a status check after a restart still knows what it decided,
-- and the captures, voids and refunds of each authorization.
CREATE TABLE test_card_authorizations (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    -- ISO 8583 style: 00 approved, 05 do not honor, 51 insufficient funds, 14 invalid card
    response_code TEXT NOT NULL,
    amount INTEGER NOT NULL,
    captured BOOLEAN NOT NULL DEFAULT FALSE,
    voided BOOLEAN NOT NULL DEFAULT FALSE,
    -- authorization requests received for the reference, answered or not
    requests INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX test_card_authorizations_age ON test_card_authorizations (created_at);

CREATE TABLE test_card_refunds (
    authorization_id TEXT NOT NULL REFERENCES test_card_authorizations (id) ON DELETE CASCADE,
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (authorization_id, reference)
);
