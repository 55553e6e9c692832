-- Live status: the events API lists and replays events by merchant, mode and sequence.
CREATE INDEX events_stream ON events (merchant_id, livemode, seq);
CREATE INDEX events_type ON events (merchant_id, livemode, type, seq);
