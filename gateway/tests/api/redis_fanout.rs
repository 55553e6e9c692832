//! Live events across replicas through a real Redis: fan-out, and payments that keep working
//! while Redis is down, with streams catching up once it is back.

use crate::helpers::{Engine, TestApp};
use crate::sse_client::merchant_stream;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}


/// Two replicas over one database, each with its own bus attached to `redis`.
async fn two_replicas(engine: Engine, redis: &str) -> (TestApp, TestApp) {
    let a = TestApp::on(engine).await;
    let b = a.sibling().await;
    a.services.bus.attach_redis(redis).expect("redis url");
    b.services.bus.attach_redis(redis).expect("redis url");
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_an_approval_on_one_replica_reaches_a_stream_on_the_other_through_redis() {
    let (a, b) = two_replicas(Engine::Postgres, &redis_url()).await;
    let base_b = b.serve().await;
    let m = a.merchant().await;
    let mut on_b = merchant_stream(&base_b, &m.sk, None).await;
    // Both replicas are subscribed once a notice sent through A arrives at B.
    let id = a.create_intent(&m.sk, json!({})).await;
    assert_eq!(on_b.next_event().await.unwrap().json()["data"]["id"], id.as_str());
    a.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(on_b.event_types(2).await, ["payment_intent.processing", "payment_intent.succeeded"]);
}

/// A Redis server of the test's own, so it can be stopped and started again on the same port.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start_on(port: u16) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)")
    }

    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let redis = PrivateRedis { port, child: Some(Self::start_on(port)) };
        redis.wait_ready().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..200 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn restart(&mut self) {
        self.stop();
        self.child = Some(Self::start_on(self.port));
        self.wait_ready().await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_with_redis_down_payments_succeed_and_streams_catch_up_when_it_is_back() {
    let mut redis = PrivateRedis::start().await;
    let (a, b) = two_replicas(Engine::Postgres, &redis.url()).await;
    let base_b = b.serve().await;
    let m = a.merchant().await;
    let mut on_b = merchant_stream(&base_b, &m.sk, None).await;
    let first = a.create_intent(&m.sk, json!({})).await;
    assert_eq!(on_b.next_event().await.unwrap().json()["data"]["id"], first.as_str());

    redis.stop();
    let id = a.create_intent(&m.sk, json!({})).await;
    let approved = a.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "succeeded", "payments do not need Redis: {}", approved.raw);
    let refund = a.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 100 })).await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.raw);

    redis.restart().await;
    // B's subscription reconnects and re-reads the database: nothing is missing or doubled.
    assert_eq!(
        on_b.event_types(6).await,
        [
            "payment_intent.created",
            "payment_intent.processing",
            "payment_intent.succeeded",
            "refund.created",
            "refund.succeeded",
            "payment_intent.partially_refunded",
        ]
    );
    // And live notices flow through Redis again.
    let after = a.create_intent(&m.sk, json!({})).await;
    assert_eq!(on_b.next_event().await.unwrap().json()["data"]["id"], after.as_str());
    a.assert_ledger_balanced().await;
}
