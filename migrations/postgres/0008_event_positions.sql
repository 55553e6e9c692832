-- Events get their stream position after their transaction commits (see store/events.rs): the
-- payment's own transaction inserts the event with `seq` NULL and its place among the same
-- object's events (`object_seq`, serialized by the object's row lock); a short sequencing
-- transaction per merchant, holding that merchant's `event_heads` row, then numbers the
-- committed, unnumbered events densely. No payment transaction touches a per-merchant row, and
-- every write stays inside one merchant's data (a sharded deployment distributes by merchant).
CREATE TABLE event_heads (
    merchant_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO event_heads (merchant_id, seq) SELECT id, event_seq FROM merchants;
ALTER TABLE merchants DROP COLUMN event_seq;

DROP TRIGGER events_append_only ON events;
ALTER TABLE events ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE events ADD COLUMN object_seq BIGINT;
UPDATE events SET object_seq = numbered.n
  FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY merchant_id, livemode, object_id ORDER BY seq) AS n FROM events) numbered
 WHERE events.id = numbered.id;
ALTER TABLE events ALTER COLUMN object_seq SET NOT NULL;
CREATE UNIQUE INDEX events_object_order ON events (merchant_id, livemode, object_id, object_seq);
CREATE INDEX events_unsequenced ON events (merchant_id, created_at, object_seq, id) WHERE seq IS NULL;
DROP INDEX events_object;

-- Still append-only: the one change allowed is numbering an unnumbered event, once.
CREATE FUNCTION events_number_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.merchant_id, NEW.livemode, NEW.type, NEW.object_id, NEW.object_seq, NEW.payload, NEW.created_at)
           IS NOT DISTINCT FROM (OLD.id, OLD.merchant_id, OLD.livemode, OLD.type, OLD.object_id, OLD.object_seq, OLD.payload, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'events is append-only';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_number_once();

-- The transactional outbox, in the event's own INSERT: one pending delivery per enabled endpoint
-- of the event's merchant and mode that subscribed to its type or its family (`payment_intent.*`).
-- `enabled_events` is stored as `*` or `,type,type,` (domain::webhook::EnabledEvents).
CREATE FUNCTION events_enqueue_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, merchant_id, livemode, status, attempts, next_attempt_at, created_at, updated_at, seq)
    SELECT id, NEW.id, merchant_id, livemode, 'pending', 0, NEW.created_at, NEW.created_at, NEW.created_at, NEW.seq FROM webhook_endpoints
     WHERE merchant_id = NEW.merchant_id AND livemode = NEW.livemode AND status = 'enabled'
       AND (enabled_events = '*' OR strpos(enabled_events, ',' || NEW.type || ',') > 0
            OR strpos(enabled_events, ',' || split_part(NEW.type, '.', 1) || '.*,') > 0);
    RETURN NULL;
END;
$$;

-- Each delivery carries its event's position once the event has one: a delivery pass finds every
-- endpoint's next delivery (the least position among its due ones) from the deliveries alone,
-- without a lookup into events per pending row. A delivery waits until its event is numbered.
ALTER TABLE webhook_deliveries ADD COLUMN seq BIGINT;
UPDATE webhook_deliveries d SET seq = e.seq FROM events e WHERE e.id = d.event_id;
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, seq, next_attempt_at, lease_until) WHERE status = 'pending';
CREATE FUNCTION events_number_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE webhook_deliveries SET seq = NEW.seq WHERE event_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_outbox AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_enqueue_deliveries();
CREATE TRIGGER events_numbered AFTER UPDATE OF seq ON events
    FOR EACH ROW EXECUTE FUNCTION events_number_deliveries();

-- Foreign keys to merchants take a shared lock on the merchant's row for every insert: on the
-- money path that is one hot row per merchant. The store writes merchant ids only from an
-- authenticated scope, so these checks protect nothing the code does not.
ALTER TABLE payment_intents DROP CONSTRAINT payment_intents_merchant_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_merchant_id_fkey;
ALTER TABLE transactions DROP CONSTRAINT transactions_merchant_id_fkey;
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_merchant_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_merchant_id_fkey;
