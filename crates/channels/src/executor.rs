//! Drains messages to their channels: a bounded number at once, retrying
//! what may pass later with exponential backoff and jitter, and reporting
//! each message's end — delivered, or dead-lettered after the last attempt
//! or a permanent refusal. The caller records the outcome durably (the
//! engine appends it to the log); a message submitted again while it is
//! still in flight is ignored, so a restatement never doubles a send.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use percorso_journeys::Message;
use tokio::sync::Semaphore;

use crate::config::RetryPolicy;
use crate::deliver::{Deliverer, DeliveryError};

/// How a message's delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        attempts: u32,
    },
    /// Given up: the last error, after `attempts` tries.
    DeadLettered {
        attempts: u32,
        reason: String,
    },
}

/// Told of every message's outcome.
pub type Report = Arc<dyn Fn(&Message, Outcome) + Send + Sync>;

#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    deliverer: Deliverer,
    policy: RetryPolicy,
    permits: Semaphore,
    in_flight: Mutex<HashSet<String>>,
    report: Report,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("policy", &self.inner.policy)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl Executor {
    /// At most `concurrency` attempts run at once, on `runtime`.
    pub fn new(
        deliverer: Deliverer,
        policy: RetryPolicy,
        concurrency: usize,
        report: Report,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                deliverer,
                policy,
                permits: Semaphore::new(concurrency.max(1)),
                in_flight: Mutex::new(HashSet::new()),
                report,
                runtime,
            }),
        }
    }

    /// Starts delivering `message`; false if its key is already in flight.
    pub fn submit(&self, message: Message) -> bool {
        if !self.inner.keys().insert(message.key.clone()) {
            return false;
        }
        let inner = self.inner.clone();
        self.inner.runtime.spawn(async move {
            let outcome = inner.deliver_with_retries(&message).await;
            (inner.report)(&message, outcome);
            inner.keys().remove(&message.key);
        });
        true
    }

    /// Messages submitted and not yet reported.
    pub fn in_flight(&self) -> usize {
        self.inner.keys().len()
    }
}

impl Inner {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn deliver_with_retries(&self, message: &Message) -> Outcome {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = {
                let _permit = self.permits.acquire().await;
                self.deliverer.deliver(message).await
            };
            let error = match result {
                Ok(()) => return Outcome::Delivered { attempts: attempt },
                Err(e) => e,
            };
            let last = attempt >= self.policy.max_attempts;
            tracing::warn!(key = message.key, channel = message.channel().name(), attempt, error = %error, "delivery failed");
            if last || matches!(error, DeliveryError::Permanent(_)) {
                return Outcome::DeadLettered {
                    attempts: attempt,
                    reason: error.to_string(),
                };
            }
            tokio::time::sleep(self.policy.backoff(&message.key, attempt)).await;
        }
    }
}
