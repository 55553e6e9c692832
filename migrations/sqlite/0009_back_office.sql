-- The back office: staff who sign in (their email lower-cased), their memberships of merchants
-- with a role, merchant sign-ups waiting for their emailed code, server-side sessions (a keyed
-- hash of the cookie's id), the append-only audit log and each merchant's settings.
CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    failed_signins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    merchant_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'analyst', 'support')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, staff_id)
);
CREATE INDEX memberships_staff ON memberships (staff_id);

CREATE TABLE merchant_signups (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    merchant_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    merchant_id TEXT,
    staff_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    client_ip TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'refused')),
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, created_at, id);

CREATE TABLE merchant_settings (
    merchant_id TEXT PRIMARY KEY,
    time_zone TEXT NOT NULL
);
