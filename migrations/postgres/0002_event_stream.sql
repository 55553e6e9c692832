-- Live status: the events API and the event streams read by merchant, mode and sequence, and an
-- intent's stream by its object (all equality columns first, so both engines pick these).
CREATE INDEX events_stream ON events (merchant_id, livemode, seq);
CREATE INDEX events_object_stream ON events (merchant_id, livemode, object_id, seq);
CREATE INDEX events_type ON events (merchant_id, livemode, type, seq);
