-- Two-factor sign-in for back-office staff: a TOTP key (sealed, like webhook secrets), when it
-- was turned on, the last time step used (each step is accepted once), single-use recovery
-- codes (keyed hashes); sessions that still wait for their second factor; and the owner's
-- setting that requires two-factor sign-in of everyone on the team.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE staff ADD COLUMN totp_last_step INTEGER;

CREATE TABLE staff_recovery_codes (
    staff_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (staff_id, code_hash)
);

ALTER TABLE staff_sessions ADD COLUMN second_factor_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merchant_settings ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;
