//! The engine as the rest of the server sees it: `Engine` starts the
//! thread (`worker.rs`) and talks to it through one queue of inputs —
//! appended records, definition changes, timer ticks and barriers — so
//! every change to the book happens in one order on one thread.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use percorso_collect::{Backlog, Collector, DataDir};
use percorso_core::Clock;
use percorso_journeys::{ContactPolicy, Message};
use percorso_profiles::ComputedTrait;
use tokio::sync::oneshot;

use crate::book::{Action, ProfileBook};
use crate::checkpoint::StateTables;
use crate::definitions::{BackfillProgress, DefinitionStore, SegmentEntry};
use crate::feed::{Arrived, CurrentProjection, Feed, MAX_QUEUED};
use crate::jobs::BackfillJob;
use crate::journeys::ledger::{Catalogs, JourneyStore, LedgerEntry};
use crate::removal::DefinitionKind;
use crate::segments::MembershipChange;
use crate::sink::CollectorSink;
use crate::worker::Worker;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Exists(String),
    #[error("{0}")]
    NotFound(String),
    /// Another definition depends on the one named.
    #[error("{0}")]
    InUse(String),
    #[error("{0}")]
    Storage(String),
    #[error("the profile engine has stopped")]
    Stopped,
}

impl EngineError {
    /// A failure of the log or the state store, for the caller to report.
    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        Self::Storage(e.to_string())
    }
}

/// Where the engine's actions go (the collector, in a server).
pub trait ActionSink: Send + Sync + std::fmt::Debug {
    fn emit(&self, actions: Vec<Action>);
    /// Actions emitted but not yet done, when the sink can tell.
    fn in_flight(&self) -> Option<tokio::sync::watch::Receiver<usize>> {
        None
    }
}

/// Where journey messages go to be delivered (the channels executor, in a
/// server). Each message's end must come back to the engine as a `Message
/// Sent` or `Message Failed` record ([`Engine::message_delivered`]).
pub trait Deliveries: Send + Sync + std::fmt::Debug {
    fn deliver(&self, message: Message);
}

/// The delivery sink, and messages decided before one was set.
#[derive(Debug, Default)]
pub(crate) struct DeliveryState {
    pub sink: Option<Arc<dyn Deliveries>>,
    pub waiting: Vec<Message>,
}

type Reply = oneshot::Sender<Result<(), EngineError>>;

pub(crate) enum Input {
    Records(Vec<Arrived>),
    Barrier(oneshot::Sender<()>),
    /// Answered once no back-fill is running.
    WhenBackfilled(oneshot::Sender<()>),
    Tick,
    AddSegment(Box<SegmentEntry>, Reply),
    /// A computed trait; `from_config` replaces one of the same name.
    AddTrait {
        definition: ComputedTrait,
        from_config: bool,
        reply: Reply,
    },
    Remove(DefinitionKind, String, Reply),
    Erase(Vec<String>, oneshot::Sender<()>),
    /// A journey deployed or its status changed (ledger entry without its cut).
    Journey(Box<LedgerEntry>, Reply),
    Stop,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub book: Mutex<ProfileBook>,
    /// Every recorded membership change, `(segment, change)`, as it is read
    /// back from the log.
    pub changes: tokio::sync::broadcast::Sender<(String, MembershipChange)>,
    pub progress: Mutex<HashMap<String, BackfillProgress>>,
    pub clock: Arc<dyn Clock>,
    /// What the feed decodes appended records with.
    pub projection: Arc<CurrentProjection>,
    /// Records the feed queued and the engine has not taken yet.
    pub backlog: Arc<Backlog>,
    pub deliveries: Mutex<DeliveryState>,
}

impl Shared {
    pub fn book(&self) -> MutexGuard<'_, ProfileBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running profile engine.
#[derive(Debug)]
pub struct Engine {
    sender: mpsc::Sender<Input>,
    pub(crate) collector: Arc<Collector>,
    pub(crate) sink: Arc<dyn ActionSink>,
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How the engine keeps its state.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Profile states kept in memory; the rest are read from the state
    /// store when needed.
    pub cache_profiles: usize,
    /// Changes are written to the store at least this often (a restart
    /// then replays about this much of the log).
    pub checkpoint_every: Duration,
    /// Frequency caps, quiet hours and the global holdout for journeys.
    pub contact_policy: ContactPolicy,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            // A state in memory costs a few kilobytes (twice while a
            // checkpoint holds it): 200,000 peaked at 2.3 GB with 10M
            // people, 100,000 keeps within 2 GB (see BENCHMARKS.md).
            cache_profiles: 100_000,
            checkpoint_every: Duration::from_secs(30),
            contact_policy: ContactPolicy::default(),
        }
    }
}

impl Engine {
    /// Starts the engine over the collector's log. Call before serving:
    /// records appended from now on are fed to it, earlier ones replayed.
    pub fn start(
        collector: Arc<Collector>,
        store: DefinitionStore,
        state: Option<StateTables>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn ActionSink>,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        let definitions = store.load()?;
        let (mut book, cursors) = match state {
            Some(tables) => ProfileBook::open(definitions, tables, options.cache_profiles)?,
            None => (ProfileBook::new(definitions), Vec::new()),
        };
        let journeys = JourneyStore::for_definitions(&store);
        book.install_journeys(
            Catalogs::new(journeys.load()?),
            options.contact_policy.clone(),
        );
        let jobs: Vec<BackfillJob> = cursors.into_iter().map(BackfillJob::resume).collect();
        // An erasure finished at the collector's start (after a crash) may
        // postdate the stored state.
        book.erase_leftovers(&collector.erased_profiles());
        let (sender, receiver) = mpsc::channel();
        let projection = Arc::new(CurrentProjection::default());
        projection.publish(&book.definitions().projection);
        let backlog = Arc::new(Backlog::new(MAX_QUEUED));
        let feed = Feed {
            sender: sender.clone(),
            projection: projection.clone(),
            backlog: backlog.clone(),
        };
        collector
            .set_append_listener(Arc::new(feed))
            .map_err(EngineError::storage)?;
        let ends = end_offsets(&collector)?;
        let shared = Arc::new(Shared {
            book: Mutex::new(book),
            changes: tokio::sync::broadcast::Sender::new(65_536),
            progress: Mutex::new(HashMap::new()),
            clock,
            projection,
            backlog,
            deliveries: Mutex::new(DeliveryState::default()),
        });
        let worker = Worker::new(
            shared.clone(),
            collector.clone(),
            store,
            journeys,
            sink.clone(),
            jobs,
            options.checkpoint_every,
        );
        let thread = std::thread::Builder::new()
            .name("profile-engine".into())
            .spawn(move || worker.run(&ends, &receiver))
            .map_err(EngineError::storage)?;
        Ok(Self {
            sender,
            collector,
            sink,
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) fn send(&self, input: Input) -> Result<(), EngineError> {
        self.sender.send(input).map_err(|_| EngineError::Stopped)
    }

    /// Waits until every record appended before the call is applied.
    pub async fn sync(&self) -> Result<(), EngineError> {
        let (done, wait) = oneshot::channel();
        self.send(Input::Barrier(done))?;
        wait.await.map_err(|_| EngineError::Stopped)
    }

    /// Recorded segment membership changes from now on.
    pub fn membership_changes(
        &self,
    ) -> tokio::sync::broadcast::Receiver<(String, MembershipChange)> {
        self.shared.changes.subscribe()
    }

    /// Like [`Engine::sync`], then also waits (up to two seconds) for the
    /// derived events that caused to be appended and applied, so a reader
    /// sees the segment changes its own writes led to.
    pub async fn settle(&self) -> Result<(), EngineError> {
        self.sync().await?;
        if let Some(mut in_flight) = self.sink.in_flight() {
            let idle = in_flight.wait_for(|n| *n == 0);
            let _ = tokio::time::timeout(Duration::from_secs(2), idle).await;
            self.sync().await?;
        }
        Ok(())
    }

    /// Waits until every back-fill has finished, then settles.
    pub async fn backfilled(&self) -> Result<(), EngineError> {
        let (done, wait) = oneshot::channel();
        self.send(Input::WhenBackfilled(done))?;
        wait.await.map_err(|_| EngineError::Stopped)?;
        self.settle().await
    }

    /// Fires the timers due by the clock now, then settles.
    pub async fn tick(&self) -> Result<(), EngineError> {
        self.send(Input::Tick)?;
        self.settle().await
    }

    /// Stops the thread (pending input is dropped; the log keeps it).
    pub fn stop(&self) {
        let _ = self.sender.send(Input::Stop);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.shared.clock.now_millis()
    }

    /// The engine of a server: definitions from the data directory, derived
    /// events appended through the collector on `runtime`.
    pub fn start_for(
        collector: &Arc<Collector>,
        data: &DataDir,
        clock: Arc<dyn Clock>,
        runtime: tokio::runtime::Handle,
        options: EngineOptions,
    ) -> Result<Arc<Self>, EngineError> {
        let sink = Arc::new(CollectorSink::new(collector.clone(), runtime));
        let store = DefinitionStore::new(data.definitions());
        let state = open_state(collector, data)?;
        Self::start(collector.clone(), store, Some(state), clock, sink, options).map(Arc::new)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The thread holds the collector (and its data-directory lock).
        self.stop();
    }
}

/// The engine's tables in the data directory's state store, which the
/// writing collector holds open (the event index lives there too).
pub fn open_state(collector: &Collector, data: &DataDir) -> Result<StateTables, EngineError> {
    let store = collector.store().ok_or_else(|| {
        EngineError::Storage("the profile engine's state needs a collector that writes".into())
    })?;
    StateTables::open(store.clone(), &data.state_keys()).map_err(EngineError::storage)
}

pub(crate) fn end_offsets(collector: &Collector) -> Result<Vec<u64>, EngineError> {
    collector.log().end_offsets().map_err(EngineError::storage)
}
