//! The live streams' guarantees while many clients write at once, with stream positions given
//! after the commit (PostgreSQL) or at its end (SQLite, in groups of commits): every reader,
//! resuming with Last-Event-ID at random points and on either replica, receives every event
//! once, at consecutive positions, and each object's events in the order they happened; an
//! intent's own stream gets that intent's events in order and ends; events a replica committed
//! but did not number (it stopped in between) stay invisible until the sweep numbers them.

use crate::helpers::{Engine, TestApp, TestMerchant};
use crate::sse_client::{merchant_stream, SseClient};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const WRITERS: usize = 12;
const PAYMENTS_PER_WRITER: usize = 6;
/// created, processing, succeeded.
const EVENTS_PER_PAYMENT: usize = 3;
const READERS: usize = 6;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A small deterministic generator, so a failing run can be repeated from its seed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One reader: from `after` on, it reads a random number of events, drops the connection and
/// resumes with Last-Event-ID on a random replica, until it holds `total` events.
async fn resuming_reader(bases: Arc<Vec<String>>, sk: String, after: String, total: usize, seed: u64) -> Vec<Value> {
    let mut dice = Dice(seed);
    let mut got: Vec<Value> = Vec::new();
    let mut last = after;
    while got.len() < total {
        let base = &bases[dice.below(bases.len() as u64) as usize];
        let mut stream = merchant_stream(base, &sk, Some(&last)).await;
        let take = 1 + dice.below(40) as usize;
        for _ in 0..take.min(total - got.len()) {
            let frame = stream.next_event().await.unwrap_or_else(|| panic!("seed {seed}: the stream ended after {} events", got.len()));
            last = frame.id.clone().expect("every event frame has an id");
            got.push(frame.json());
        }
    }
    got
}

/// One client's payments, alternating between the replicas; the first one is followed on its
/// own stream (on the other replica) while it is approved.
async fn writer(apps: Arc<Vec<TestApp>>, bases: Arc<Vec<String>>, m: TestMerchant, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..PAYMENTS_PER_WRITER {
        let app = &apps[(n + i) % apps.len()];
        let created = app
            .post(&m.sk, "/v1/payment_intents", json!({
                "amount": 10_000 + i64::try_from(n * 100 + i).unwrap(), "currency": "KRW",
                "merchant_order_id": format!("w{n}-{i}"), "order_name": "Beans", "customer_name": "Kim",
            }))
            .await;
        assert_eq!(created.status, 201, "{}", created.raw);
        let id = created.id();
        let followed = if i == 0 {
            let secret = created.body["client_secret"].as_str().unwrap();
            let path = format!("/v1/payment_intents/{id}/events?client_secret={secret}&key={}", m.pk);
            let stream = SseClient::open(&bases[(n + i + 1) % bases.len()], &path, &[]).await;
            assert_eq!(stream.status, 200, "{}", stream.body);
            Some(stream)
        } else {
            None
        };
        let approved = app.approve(&m.sk, &id, "4242424242424242").await;
        assert_eq!(approved.body["status"], "succeeded", "{}", approved.raw);
        if let Some(mut stream) = followed {
            let mut types = Vec::new();
            while let Some(frame) = stream.next_event().await {
                assert_eq!(frame.json()["data"]["id"], id.as_str());
                types.push(frame.event.unwrap_or_default());
            }
            assert_eq!(types, ["payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"], "{id}");
        }
        ids.push(id);
    }
    ids
}

/// Many clients pay on every replica at once while readers resume anywhere; then each
/// reader's events are checked.
async fn many_writers_and_resuming_readers(apps: Vec<TestApp>) {
    let bases: Vec<String> = futures::future::join_all(apps.iter().map(|a| a.serve())).await;
    let (apps, bases) = (Arc::new(apps), Arc::new(bases));
    let m = apps[0].merchant().await;
    // The readers start after this event.
    let first = apps[0].create_intent(&m.sk, json!({ "merchant_order_id": "first" })).await;
    let listed = apps[0].get(&m.sk, &format!("/v1/events?object={first}")).await;
    let after = listed.body["data"][0]["id"].as_str().unwrap().to_owned();
    let first_position = listed.body["data"][0]["sequence"].as_i64().unwrap();

    let total = WRITERS * PAYMENTS_PER_WRITER * EVENTS_PER_PAYMENT;
    let readers: Vec<_> = (0..READERS)
        .map(|r| tokio::spawn(resuming_reader(bases.clone(), m.sk.clone(), after.clone(), total, 0x9E37_79B9_7F4A_7C15 ^ (r as u64 + 1))))
        .collect();
    let writers: Vec<_> = (0..WRITERS).map(|n| tokio::spawn(writer(apps.clone(), bases.clone(), m.clone(), n))).collect();
    let mut paid = HashSet::new();
    for w in writers {
        paid.extend(w.await.expect("writer"));
    }
    assert_eq!(paid.len(), WRITERS * PAYMENTS_PER_WRITER);

    let mut seen_by_all: Option<Vec<String>> = None;
    for (r, reader) in readers.into_iter().enumerate() {
        let got = reader.await.expect("reader");
        let ids: Vec<String> = got.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), total, "reader {r}: an event came twice");
        let positions: Vec<i64> = got.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        let expected: Vec<i64> = (first_position + 1..=first_position + total as i64).collect();
        assert_eq!(positions, expected, "reader {r}: positions are consecutive, with no gap and no repeat");
        let mut per_object: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in &got {
            per_object.entry(e["data"]["id"].as_str().unwrap()).or_default().push(e["type"].as_str().unwrap());
        }
        assert_eq!(per_object.len(), paid.len(), "reader {r}: every payment's events, and only theirs");
        for (object, types) in &per_object {
            assert!(paid.contains(*object), "reader {r}: {object} is not one of the payments");
            assert_eq!(types, &["payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"], "reader {r}: {object}");
        }
        match &seen_by_all {
            None => seen_by_all = Some(ids),
            Some(earlier) => assert_eq!(earlier, &ids, "reader {r} got the events in another order than reader 0"),
        }
    }
    // The list endpoint agrees with the streams.
    let mut listed = Vec::new();
    let mut path = "/v1/events?limit=100".to_owned();
    loop {
        let page = apps[1 % apps.len()].get(&m.sk, &path).await;
        let data = page.body["data"].as_array().unwrap();
        listed.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/events?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    listed.reverse();
    assert_eq!(listed.len(), total + 1);
    assert_eq!(&listed[1..], seen_by_all.unwrap().as_slice(), "the list holds what the streams delivered, in position order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_many_clients_paying_at_once_reach_every_resuming_reader_once_in_order() {
    many_writers_and_resuming_readers(vec![TestApp::on(Engine::Sqlite).await]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_clients_paying_on_two_replicas_at_once_reach_every_reader_resuming_on_either_once_in_order() {
    let a = TestApp::on(Engine::Postgres).await;
    let b = a.sibling().await;
    a.services.bus.attach_redis(&redis_url()).expect("redis url");
    b.services.bus.attach_redis(&redis_url()).expect("redis url");
    many_writers_and_resuming_readers(vec![a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_a_stopped_replica_committed_but_did_not_number_appear_after_the_sweep() {
    let app = TestApp::on(Engine::Postgres).await;
    let base = app.serve().await;
    let m = app.merchant().await;
    let id = app.create_intent(&m.sk, json!({})).await;
    let mut stream = merchant_stream(&base, &m.sk, None).await;
    // What a replica leaves behind when it stops between its commit and the numbering: the
    // event row without a position.
    let payload = app.get(&m.sk, &format!("/v1/payment_intents/{id}")).await.body.to_string().replace('\'', "''");
    app.exec_raw(&format!(
        "INSERT INTO events (id, merchant_id, livemode, object_seq, type, object_id, payload, created_at) \
         VALUES ('evt_unnumbered00000000000000', '{}', false, 2, 'payment_intent.scanned', '{id}', '{payload}', 1767225600000)",
        m.id
    ))
    .await
    .expect("insert an unnumbered event");
    assert_eq!(app.get(&m.sk, "/v1/events/evt_unnumbered00000000000000").await.status, 404, "an unnumbered event is not shown");
    let listed = app.get(&m.sk, &format!("/v1/events?object={id}")).await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1), "{}", listed.raw);

    let report = app.services.sweep().await.expect("sweep");
    assert_eq!(report.sequenced_merchants, 1);
    let frame = stream.next_event().await.expect("the numbered event reaches the open stream");
    assert_eq!(frame.id.as_deref(), Some("evt_unnumbered00000000000000"));
    let event = app.get(&m.sk, "/v1/events/evt_unnumbered00000000000000").await;
    assert_eq!(event.status, 200, "{}", event.raw);
    assert_eq!(event.body["sequence"], 2, "numbered right after the merchant's last event");
    // Numbered once: a second sweep finds nothing, and the position cannot change.
    assert_eq!(app.services.sweep().await.expect("sweep").sequenced_merchants, 0);
    let renumber = app.exec_raw("UPDATE events SET seq = 7 WHERE id = 'evt_unnumbered00000000000000'").await;
    assert!(renumber.is_err(), "a numbered event keeps its position");
}
