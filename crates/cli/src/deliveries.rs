//! Journey messages from the engine to the channels executor, and each
//! message's end back to the engine (which records it in the log).

use std::sync::Arc;

use percorso_channels::{Deliverer, Executor, Outcome, Report};
use percorso_engine::{Deliveries, Engine, MessageEnd};
use percorso_journeys::Message;

use crate::journeys_config::Delivery;

/// Attempts in flight at once across all channels.
const CONCURRENCY: usize = 64;

#[derive(Debug)]
struct ExecutorDeliveries(Executor);

impl Deliveries for ExecutorDeliveries {
    fn deliver(&self, message: Message) {
        // A key already in flight is being delivered: nothing to add.
        self.0.submit(message);
    }
}

/// Starts delivering the engine's messages on `runtime`.
pub fn start(
    engine: &Arc<Engine>,
    delivery: &Delivery,
    runtime: tokio::runtime::Handle,
) -> anyhow::Result<()> {
    // The SMTP connection pool starts a task of its own: inside the runtime.
    let _inside = runtime.enter();
    let deliverer = Deliverer::new(&delivery.channels).map_err(anyhow::Error::msg)?;
    let weak = Arc::downgrade(engine);
    let report: Report = Arc::new(move |message: &Message, outcome: Outcome| {
        let Some(engine) = weak.upgrade() else {
            return; // stopping: the outbox keeps the message for the next start
        };
        let end = match outcome {
            Outcome::Delivered { attempts } => MessageEnd::Sent { attempts },
            Outcome::DeadLettered { attempts, reason } => MessageEnd::Failed { attempts, reason },
        };
        engine.message_ended(message, end);
    });
    let executor = Executor::new(deliverer, delivery.retry, CONCURRENCY, report, runtime);
    engine.set_deliveries(Arc::new(ExecutorDeliveries(executor)));
    Ok(())
}
