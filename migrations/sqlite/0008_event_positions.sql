-- no-transaction
-- Events get their stream position in a sequencing step (see store/events.rs): the work's own
-- transaction inserts the event with `seq` NULL and its place among the same object's events
-- (`object_seq`); the sequencing step numbers the merchant's unnumbered events densely, holding
-- the merchant's `event_heads` row. On SQLite that step runs at the end of the same transaction
-- (one writer), on PostgreSQL after the commit.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE event_heads (
    merchant_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
INSERT INTO event_heads (merchant_id, seq) SELECT id, event_seq FROM merchants;
ALTER TABLE merchants DROP COLUMN event_seq;

-- SQLite cannot drop NOT NULL in place: the table is rebuilt, with foreign keys off (allowed
-- only outside a transaction, hence `no-transaction` and the explicit BEGIN / COMMIT).
-- webhook_deliveries and webhook_attempts refer to events by name and find the new table.
CREATE TABLE events_numbered (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    livemode INTEGER NOT NULL,
    seq INTEGER,
    object_seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (merchant_id, seq)
);
INSERT INTO events_numbered (id, merchant_id, livemode, seq, object_seq, type, object_id, payload, created_at)
SELECT id, merchant_id, livemode, seq,
       ROW_NUMBER() OVER (PARTITION BY merchant_id, livemode, object_id ORDER BY seq),
       type, object_id, payload, created_at
  FROM events;
DROP TABLE events;
ALTER TABLE events_numbered RENAME TO events;
CREATE INDEX events_stream ON events (merchant_id, livemode, seq);
CREATE INDEX events_object_stream ON events (merchant_id, livemode, object_id, seq);
CREATE INDEX events_type ON events (merchant_id, livemode, type, seq);
CREATE UNIQUE INDEX events_object_order ON events (merchant_id, livemode, object_id, object_seq);
CREATE INDEX events_unsequenced ON events (merchant_id, created_at, object_seq, id) WHERE seq IS NULL;

-- Still append-only: the one change allowed is numbering an unnumbered event, once.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL
          AND NEW.id IS OLD.id AND NEW.merchant_id IS OLD.merchant_id AND NEW.livemode IS OLD.livemode
          AND NEW.type IS OLD.type AND NEW.object_id IS OLD.object_id AND NEW.object_seq IS OLD.object_seq
          AND NEW.payload IS OLD.payload AND NEW.created_at IS OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;

-- The transactional outbox, in the event's own INSERT: one pending delivery per enabled endpoint
-- of the event's merchant and mode that subscribed to its type or its family (`payment_intent.*`).
-- `enabled_events` is stored as `*` or `,type,type,` (domain::webhook::EnabledEvents).
-- Each delivery carries its event's position once the event has one: a delivery pass finds every
-- endpoint's next delivery (the least position among its due ones) from the deliveries alone,
-- without a lookup into events per pending row. A delivery waits until its event is numbered.
ALTER TABLE webhook_deliveries ADD COLUMN seq INTEGER;
UPDATE webhook_deliveries SET seq = (SELECT e.seq FROM events e WHERE e.id = webhook_deliveries.event_id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, seq, next_attempt_at, lease_until) WHERE status = 'pending';
CREATE TRIGGER events_numbered AFTER UPDATE OF seq ON events
BEGIN
    UPDATE webhook_deliveries SET seq = NEW.seq WHERE event_id = NEW.id;
END;

CREATE TRIGGER events_outbox AFTER INSERT ON events
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, merchant_id, livemode, status, attempts, next_attempt_at, created_at, updated_at, seq)
    SELECT id, NEW.id, merchant_id, livemode, 'pending', 0, NEW.created_at, NEW.created_at, NEW.created_at, NEW.seq FROM webhook_endpoints
     WHERE merchant_id = NEW.merchant_id AND livemode = NEW.livemode AND status = 'enabled'
       AND (enabled_events = '*' OR instr(enabled_events, ',' || NEW.type || ',') > 0
            OR instr(enabled_events, ',' || substr(NEW.type, 1, instr(NEW.type, '.') - 1) || '.*,') > 0);
END;
COMMIT;
PRAGMA foreign_keys = ON;
