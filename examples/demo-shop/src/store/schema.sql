-- The demo shop's tables. Applied at every start; each statement is idempotent.
CREATE TABLE IF NOT EXISTS products (
    id          INTEGER PRIMARY KEY,
    sku         TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price       INTEGER NOT NULL CHECK (price > 0),
    currency    TEXT    NOT NULL,
    -- The second guard against overselling: the reservation's condition is the first.
    stock       INTEGER NOT NULL CHECK (stock >= 0)
);

CREATE TABLE IF NOT EXISTS cart_items (
    cart_id    TEXT    NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (cart_id, product_id)
);

CREATE TABLE IF NOT EXISTS orders (
    id             TEXT    PRIMARY KEY,
    cart_id        TEXT    NOT NULL,
    customer_name  TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    total          INTEGER NOT NULL CHECK (total > 0),
    status         TEXT    NOT NULL,
    -- How many payment intents were asked for; part of each create's Idempotency-Key.
    intent_attempt INTEGER NOT NULL DEFAULT 0,
    intent_id      TEXT,
    client_secret  TEXT,
    -- The current intent's last known status, for the pages only.
    intent_status  TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_cart ON orders (cart_id, created_at);

CREATE TABLE IF NOT EXISTS order_lines (
    order_id   TEXT    NOT NULL REFERENCES orders (id),
    product_id INTEGER NOT NULL REFERENCES products (id),
    name       TEXT    NOT NULL,
    unit_price INTEGER NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);

-- Every intent ever made for an order, so a late webhook of an earlier one finds its order.
CREATE TABLE IF NOT EXISTS order_intents (
    intent_id TEXT    PRIMARY KEY,
    order_id  TEXT    NOT NULL REFERENCES orders (id),
    attempt   INTEGER NOT NULL
);

-- Webhook ids already handled (Standard Webhooks' `webhook-id`: the event id).
CREATE TABLE IF NOT EXISTS webhook_events (
    webhook_id  TEXT    PRIMARY KEY,
    event_type  TEXT    NOT NULL,
    received_at INTEGER NOT NULL
);

-- The one webhook endpoint registered on the gateway, and its signing secret.
CREATE TABLE IF NOT EXISTS webhook_endpoint (
    slot        INTEGER PRIMARY KEY CHECK (slot = 1),
    gateway_url TEXT    NOT NULL,
    endpoint_id TEXT    NOT NULL,
    secret      TEXT    NOT NULL
);
