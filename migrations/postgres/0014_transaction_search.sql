-- The back office's transaction search at a million rows a merchant.
--
-- Customer name: every two-character piece (bigram) of the lower-cased name, with the
-- transaction's place in the list, so a substring search of two characters or more walks one
-- bigram's entries newest first instead of every transaction (a two-syllable Korean given name
-- is one bigram; pg_trgm's trigrams cannot serve a two-character pattern). Kept by a trigger in
-- the transaction's own INSERT; the name never changes after. No foreign keys: the money path
-- takes no lock on the merchant's row for it.
CREATE TABLE transaction_name_grams (
    merchant_id TEXT NOT NULL,
    livemode BOOLEAN NOT NULL,
    gram TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    transaction_id TEXT NOT NULL,
    -- the whole name and the type, so a longer needle and a type are checked on the entry and
    -- the totals count without reading the transactions (an index-only scan)
    customer_name_search TEXT NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (merchant_id, livemode, gram, created_at, transaction_id) INCLUDE (customer_name_search, type)
);

CREATE FUNCTION transactions_name_grams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO transaction_name_grams (merchant_id, livemode, gram, created_at, transaction_id, customer_name_search, type)
    SELECT DISTINCT NEW.merchant_id, NEW.livemode, substr(NEW.customer_name_search, pos, 2), NEW.created_at, NEW.id, NEW.customer_name_search, NEW.type
      FROM generate_series(1, length(NEW.customer_name_search) - 1) AS pos;
    RETURN NULL;
END;
$$;
CREATE TRIGGER transactions_name_grams AFTER INSERT ON transactions
    FOR EACH ROW EXECUTE FUNCTION transactions_name_grams();

INSERT INTO transaction_name_grams (merchant_id, livemode, gram, created_at, transaction_id, customer_name_search, type)
SELECT DISTINCT t.merchant_id, t.livemode, substr(t.customer_name_search, pos, 2), t.created_at, t.id, t.customer_name_search, t.type
  FROM transactions t, generate_series(1, length(t.customer_name_search) - 1) AS pos;

-- Cancels and refunds, newest first, with their type: a filter on those types walks only them.
-- Payments, most of the rows, are not in it, so a payment's insert never touches it; a payments
-- filter walks the list's index.
CREATE INDEX transactions_not_payments ON transactions (merchant_id, livemode, created_at, id, type) WHERE type <> 'payment';
-- An order id's intents, the order id first: no query of the core by merchant can take it for
-- its own (led by the merchant, it cost PostgreSQL a quarter of its payments per second at 64
-- clients), and the merchant and mode after it give it more equal columns than the list's index
-- for a planner without statistics. (An intent's transactions are found through the indexes the
-- core keeps: its payment and its cancel by their unique indexes, its refunds through refunds.)
CREATE INDEX payment_intents_order ON payment_intents (merchant_order_id, merchant_id, livemode);
