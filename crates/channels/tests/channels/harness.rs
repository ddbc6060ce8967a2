//! The executor under test, with its outcomes collected.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use percorso_channels::{Deliverer, Executor, Outcome, Report, RetryPolicy};
use percorso_journeys::{Content, Message};

pub use percorso_testkit::{Receiver, SmtpServer};

/// Outcomes as reported: (message key, outcome).
pub type Outcomes = Arc<Mutex<Vec<(String, Outcome)>>>;

/// An executor whose outcomes are collected.
pub fn executor(deliverer: Deliverer, policy: RetryPolicy) -> (Executor, Outcomes) {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let sink = outcomes.clone();
    let report: Report = Arc::new(move |message: &Message, outcome| {
        sink.lock().unwrap().push((message.key.clone(), outcome))
    });
    let executor = Executor::new(
        deliverer,
        policy,
        8,
        report,
        tokio::runtime::Handle::current(),
    );
    (executor, outcomes)
}

/// Waits (without blocking the runtime) until `count` outcomes are in.
pub async fn outcomes(collected: &Outcomes, count: usize) -> Vec<(String, Outcome)> {
    let started = Instant::now();
    while collected.lock().unwrap().len() < count && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    collected.lock().unwrap().clone()
}

pub fn message(key: &str, content: Content) -> Message {
    Message {
        key: key.to_owned(),
        journey: "test_journey".into(),
        version: 1,
        step: "send".into(),
        profile: "prof_1".into(),
        at: 0,
        content,
    }
}

/// Quick retries for tests.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(40),
    }
}
