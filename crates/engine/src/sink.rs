//! Appends the engine's derived events through the collector, on their
//! profile, under Percorso's own source.

use std::sync::Arc;

use percorso_collect::{BatchDefaults, Collector, IncomingItem, Source};

use tokio::sync::watch;

use crate::book::Action;
use crate::derived::ENGINE_SOURCE;
use crate::runner::ActionSink;

#[derive(Debug)]
pub struct CollectorSink {
    collector: Arc<Collector>,
    runtime: tokio::runtime::Handle,
    source: Source,
    in_flight: Arc<watch::Sender<usize>>,
}

impl CollectorSink {
    pub fn new(collector: Arc<Collector>, runtime: tokio::runtime::Handle) -> Self {
        let source = Source {
            id: ENGINE_SOURCE.to_owned(),
            name: ENGINE_SOURCE.to_owned(),
            write_key: String::new(),
            created_at: String::new(),
        };
        Self {
            collector,
            runtime,
            source,
            in_flight: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl ActionSink for CollectorSink {
    fn emit(&self, actions: Vec<Action>) {
        let items: Vec<IncomingItem> = actions
            .into_iter()
            .map(|Action::Emit { profile, event }| IncomingItem::derived(profile, event))
            .collect();
        let collector = self.collector.clone();
        let source = self.source.clone();
        let in_flight = self.in_flight.clone();
        in_flight.send_modify(|n| *n += 1);
        self.runtime.spawn(async move {
            match collector
                .ingest(&source, None, &BatchDefaults::default(), items)
                .await
            {
                Ok(outcome) if outcome.rejected.is_empty() => {}
                Ok(outcome) => {
                    tracing::error!(rejected = ?outcome.rejected, "derived events refused");
                }
                // The membership stays stated-but-unrecorded; the next start
                // compares again and states it once more.
                Err(e) => tracing::error!(error = %e, "derived events not stored"),
            }
            in_flight.send_modify(|n| *n -= 1);
        });
    }

    fn in_flight(&self) -> Option<watch::Receiver<usize>> {
        Some(self.in_flight.subscribe())
    }
}
