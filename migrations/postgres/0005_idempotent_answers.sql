-- Idempotency keys keep their request's answer as typed data (`answer`, JSON), saved in the
-- transaction of the request's last effect, and, while the work is under way, where a retry
-- resumes (`resume`, JSON), saved with each earlier effect. `response_body` is no longer written:
-- keys answered before this migration cannot be replayed (they are purged after 48 hours).
ALTER TABLE idempotency_keys ADD COLUMN answer TEXT;
ALTER TABLE idempotency_keys ADD COLUMN resume TEXT;
