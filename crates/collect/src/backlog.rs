//! How far the append listener (the profile engine) is behind, so that
//! ingestion waits for it instead of queueing without end.
//!
//! Appended records are durable before the listener hears of them, so
//! they are always handed over; what waits is the next request, before it
//! appends. Without this, a listener slower than ingestion (a cold profile
//! cache at ten million people) queued records in memory until the
//! process ran out of it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug)]
pub struct Backlog {
    queued: AtomicUsize,
    limit: usize,
    drained: Notify,
    /// The listener stopped taking records: nothing is worth waiting for.
    closed: AtomicBool,
}

impl Backlog {
    /// Requests wait while more than `limit` records are queued.
    pub fn new(limit: usize) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            limit,
            drained: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// `records` were handed to the listener.
    pub fn add(&self, records: usize) {
        self.queued.fetch_add(records, Ordering::AcqRel);
    }

    /// The listener took `records` off its queue.
    pub fn done(&self, records: usize) {
        let before = self.queued.fetch_sub(records, Ordering::AcqRel);
        if before.saturating_sub(records) <= self.limit {
            self.drained.notify_waiters();
        }
    }

    /// The listener is gone (stopped, or its thread died): requests no
    /// longer wait for it.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_waiters();
    }

    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Returns once the queue is at most `limit` records long.
    pub async fn room(&self) {
        if self.has_room() {
            return; // most requests: no waiter to register
        }
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before looking, so a `done` in between still wakes it.
            drained.as_mut().enable();
            if self.has_room() {
                return;
            }
            drained.await;
        }
    }

    fn has_room(&self) -> bool {
        self.queued() <= self.limit || self.closed.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_request_waits_while_the_listener_is_behind() {
        let backlog = Arc::new(Backlog::new(10));
        backlog.add(8);
        backlog.room().await; // under the limit: no wait
        backlog.add(8);
        let waiting = tokio::spawn({
            let backlog = backlog.clone();
            async move { backlog.room().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "16 queued, limit 10: it waits");
        backlog.done(4);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "12 queued: still over");
        backlog.done(2);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("10 queued: the request goes on")
            .unwrap();

        backlog.add(100);
        let waiting = tokio::spawn({
            let backlog = backlog.clone();
            async move { backlog.room().await }
        });
        backlog.close();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("a closed backlog holds nobody")
            .unwrap();
    }
}
