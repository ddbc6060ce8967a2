//! Webhooks and SMS/push provider webhooks against a real HTTP receiver.

use std::sync::atomic::Ordering;

use percorso_channels::{ChannelsConfig, Deliverer, Outcome, ProviderWebhook};
use percorso_journeys::Content;
use serde_json::json;

use super::harness::*;

fn webhook(url: String) -> Content {
    Content::Webhook {
        method: "POST".into(),
        url,
        headers: vec![("X-Reason".into(), "failed_online_payment".into())],
        body: Some(json!({ "profile_id": "prof_1", "skip_bot": true })),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_carries_its_headers_body_and_idempotency_key() {
    let (receiver, address) = Receiver::start().await;
    let (executor, collected) = executor(
        Deliverer::new(&ChannelsConfig::default()).unwrap(),
        fast_retries(3),
    );
    executor.submit(message(
        "cb.1.1.4.prof_1",
        webhook(format!("http://{address}/contact-centre")),
    ));
    let done = outcomes(&collected, 1).await;
    assert_eq!(done[0].1, Outcome::Delivered { attempts: 1 });
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/contact-centre")
    );
    assert_eq!(request.header("idempotency-key"), Some("cb.1.1.4.prof_1"));
    assert_eq!(request.header("x-reason"), Some("failed_online_payment"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({ "profile_id": "prof_1", "skip_bot": true })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_and_recovers_gets_each_message_once() {
    let (receiver, address) = Receiver::start().await;
    receiver.fail_next.store(7, Ordering::SeqCst);
    let (executor, collected) = executor(
        Deliverer::new(&ChannelsConfig::default()).unwrap(),
        fast_retries(10),
    );
    let keys: Vec<String> = (0..5).map(|i| format!("k{i}")).collect();
    for key in &keys {
        executor.submit(message(key, webhook(format!("http://{address}/hook"))));
    }
    let done = outcomes(&collected, keys.len()).await;
    assert_eq!(done.len(), 5);
    assert!(
        done.iter()
            .all(|(_, o)| matches!(o, Outcome::Delivered { .. })),
        "{done:?}"
    );
    let requests = receiver.requests();
    let failed = requests.iter().filter(|r| r.status == 503).count();
    assert_eq!(failed, 7, "the receiver refused its first seven requests");
    // Accepted: every key exactly once.
    let mut accepted: Vec<&str> = requests
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.header("idempotency-key").unwrap())
        .collect();
    accepted.sort_unstable();
    assert_eq!(
        accepted,
        keys.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let attempts: u32 = done
        .iter()
        .map(|(_, o)| match o {
            Outcome::Delivered { attempts } => *attempts,
            _ => 0,
        })
        .sum();
    assert_eq!(
        attempts as usize,
        requests.len(),
        "every attempt reached the receiver"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_final_and_a_key_in_flight_is_not_sent_twice() {
    let (receiver, address) = Receiver::start().await;
    receiver.status.store(422, Ordering::SeqCst);
    let (executor, collected) = executor(
        Deliverer::new(&ChannelsConfig::default()).unwrap(),
        fast_retries(5),
    );
    assert!(executor.submit(message("same", webhook(format!("http://{address}/x")))));
    assert!(
        !executor.submit(message("same", webhook(format!("http://{address}/x")))),
        "already in flight"
    );
    let done = outcomes(&collected, 1).await;
    assert!(
        matches!(&done[0].1, Outcome::DeadLettered { attempts: 1, reason } if reason.contains("422")),
        "{done:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_and_push_go_to_their_provider_webhooks() {
    let (receiver, address) = Receiver::start().await;
    let provider = |path: &str| ProviderWebhook {
        url: format!("http://{address}/{path}"),
        headers: vec![("Authorization".into(), "Bearer provider-key".into())],
    };
    let config = ChannelsConfig {
        sms: Some(provider("sms")),
        push: Some(provider("push")),
        ..ChannelsConfig::default()
    };
    let (executor, collected) = executor(Deliverer::new(&config).unwrap(), fast_retries(2));
    executor.submit(message(
        "s1",
        Content::Sms {
            to: "+39055123".into(),
            text: "Your basket is saved".into(),
        },
    ));
    executor.submit(message(
        "p1",
        Content::Push {
            to: "prof_1".into(),
            title: Some("Hi".into()),
            text: "Back soon?".into(),
        },
    ));
    outcomes(&collected, 2).await;
    let mut requests = receiver.requests();
    requests.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(requests[0].path, "/push");
    assert_eq!(requests[0].body["title"], json!("Hi"));
    assert_eq!(requests[1].path, "/sms");
    assert_eq!(requests[1].body["to"], json!("+39055123"));
    assert_eq!(requests[1].body["text"], json!("Your basket is saved"));
    assert_eq!(requests[1].body["key"], json!("s1"));
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer provider-key")
    );
    assert_eq!(requests[1].header("idempotency-key"), Some("s1"));
}
