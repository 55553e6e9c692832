-- Invitations to a merchant's team: the link's token is kept as a keyed hash only; an
-- invitation is accepted (or revoked) once, and lapses after seven days.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'analyst', 'support')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX invitations_merchant ON invitations (merchant_id, created_at);
CREATE INDEX memberships_merchant ON memberships (merchant_id, created_at);
