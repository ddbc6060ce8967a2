//! The engine's thread: replays the log into the book at start, then takes
//! appended records, definition changes and timer ticks in one queue, so
//! every change to the book happens in one order on one thread.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use percorso_collect::{AppendedRecord, Backlog, Collector, DataDir};
use percorso_core::Clock;
use percorso_profiles::ComputedTrait;
use tokio::sync::oneshot;

use crate::book::{Action, ProfileBook};
use crate::checkpoint::StateTables;
use crate::definitions::{BackfillProgress, DefinitionStore, SegmentEntry};
use crate::feed::{Arrived, CurrentProjection, Feed, MAX_QUEUED};
use crate::input::Record;
use crate::jobs::BackfillJob;
use crate::removal::DefinitionKind;
use crate::segments::MembershipChange;
use crate::sequencer::Sequencer;
use crate::sink::CollectorSink;

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
}

impl Shared {
    pub fn book(&self) -> MutexGuard<'_, ProfileBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Closes the backlog when dropped (the engine thread ending, even by
/// panic).
struct CloseOnDrop(Arc<Backlog>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The running profile engine.
#[derive(Debug)]
pub struct Engine {
    sender: mpsc::Sender<Input>,
    pub(crate) collector: Arc<Collector>,
    sink: Arc<dyn ActionSink>,
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How the thread reaches the outside.
struct Worker {
    shared: Arc<Shared>,
    collector: Arc<Collector>,
    store: DefinitionStore,
    sink: Arc<dyn ActionSink>,
    jobs: Vec<BackfillJob>,
    backfill_waiters: Vec<oneshot::Sender<()>>,
    last_checkpoint: Instant,
    checkpoint_every: Duration,
    sequencer: Sequencer,
    /// Barriers held while records wait for a gap (answered once applied).
    held_barriers: Vec<oneshot::Sender<()>>,
}

/// How long records wait for an earlier one before it is read from the log.
const GAP_PATIENCE: Duration = Duration::from_millis(500);

/// How the engine keeps its state.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Profile states kept in memory; the rest are read from the state
    /// store when needed.
    pub cache_profiles: usize,
    /// Changes are written to the store at least this often (a restart
    /// then replays about this much of the log).
    pub checkpoint_every: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            cache_profiles: 200_000,
            checkpoint_every: Duration::from_secs(5),
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
        });
        let mut worker = Worker {
            shared: shared.clone(),
            collector: collector.clone(),
            store,
            sink: sink.clone(),
            jobs,
            backfill_waiters: Vec::new(),
            last_checkpoint: Instant::now(),
            checkpoint_every: options.checkpoint_every,
            sequencer: Sequencer::default(),
            held_barriers: Vec::new(),
        };
        worker.publish_jobs();
        let thread = std::thread::Builder::new()
            .name("profile-engine".into())
            .spawn(move || {
                // However the thread ends, ingestion stops waiting for it.
                let _closer = CloseOnDrop(worker.shared.backlog.clone());
                worker.replay(&ends);
                worker.serve(&receiver);
            })
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
        let state = open_state(data)?;
        Self::start(collector.clone(), store, Some(state), clock, sink, options).map(Arc::new)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The thread holds the collector (and its data-directory lock).
        self.stop();
    }
}

/// The engine's tables in the data directory's state store.
pub fn open_state(data: &DataDir) -> Result<StateTables, EngineError> {
    let store =
        percorso_store::Store::open(&data.state(), 64 << 20).map_err(EngineError::storage)?;
    StateTables::open(store).map_err(EngineError::storage)
}

fn end_offsets(collector: &Collector) -> Result<Vec<u64>, EngineError> {
    let log = collector.log();
    (0..log.partition_count())
        .map(|p| log.end_offset(p).map_err(EngineError::storage))
        .collect()
}

impl Worker {
    fn now(&self) -> i64 {
        self.shared.clock.now_millis()
    }

    fn emit(&self, actions: Vec<Action>) {
        if !actions.is_empty() {
            self.sink.emit(actions);
        }
    }

    /// Reads every partition from where the stored state stands up to
    /// `ends` into the book, then judges the profiles that may have moved
    /// against the membership the log recorded.
    fn replay(&mut self, ends: &[u64]) {
        let started = Instant::now();
        let mut replayed = 0u64;
        let starts = self.shared.book().applied(ends.len());
        for ((partition, &end), start) in (0u16..).zip(ends).zip(starts) {
            if start >= end {
                continue;
            }
            let reader = match self.collector.log().reader(partition, start) {
                Ok(reader) => reader,
                Err(e) => {
                    tracing::error!(partition, error = %e, "cannot replay partition");
                    continue;
                }
            };
            let mut chunk = Vec::new();
            for item in reader {
                match item {
                    Ok((record, location)) if location.offset < end => {
                        chunk.push(Arrived::read(AppendedRecord {
                            location,
                            payload: record.payload,
                        }));
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(partition, error = %e, "replay stopped early");
                        break;
                    }
                }
                if chunk.len() == 4096 {
                    replayed += chunk.len() as u64;
                    self.apply(std::mem::take(&mut chunk));
                    self.maybe_checkpoint();
                }
            }
            replayed += chunk.len() as u64;
            self.apply(chunk);
        }
        self.sequencer = Sequencer::new(ends.to_vec());
        let now = self.now();
        let actions = self.shared.book().go_live(now);
        match actions {
            Some(actions) => self.emit(actions),
            None => self.judge_everyone(now),
        }
        self.shared.book().mark_settled();
        self.checkpoint_now();
        tracing::info!(
            records = replayed,
            profiles = self.shared.book().profile_count(),
            seconds = started.elapsed().as_secs_f64(),
            "profile engine replayed the log"
        );
    }

    /// Judges every profile, a page at a time, writing checkpoints between
    /// pages as memory fills.
    fn judge_everyone(&mut self, now: i64) {
        self.checkpoint_now();
        let mut after: Option<String> = None;
        loop {
            let (actions, next) = self.shared.book().settle_page(after.as_deref(), now);
            self.emit(actions);
            self.maybe_checkpoint();
            match next {
                Some(next) => after = Some(next),
                None => return,
            }
        }
    }

    /// Writes a checkpoint when enough has changed or enough time passed.
    fn maybe_checkpoint(&mut self) {
        let due = self.shared.book().checkpoint_due();
        if due || self.last_checkpoint.elapsed() >= self.checkpoint_every {
            self.checkpoint_now();
        }
    }

    fn checkpoint_now(&mut self) {
        self.shared.book().checkpoint();
        self.last_checkpoint = Instant::now();
    }

    /// Tells the API how far each back-fill got, and the book where each
    /// stands (the next checkpoint stores it): call whenever a job moves.
    fn publish_jobs(&self) {
        let mut progress = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        progress.clear();
        for job in &self.jobs {
            progress.insert(job.name.clone(), job.progress());
        }
        self.shared.book().backfills = self.jobs.iter().map(BackfillJob::cursor).collect();
    }

    fn apply(&self, records: Vec<Arrived>) {
        let projection = self.shared.book().definitions().projection.clone();
        self.shared.projection.publish(&projection);
        let decoded: Vec<Record> = records
            .into_iter()
            .filter_map(|r| {
                let location = r.location();
                match r.into_record(&projection) {
                    Ok(record) => record,
                    Err(reason) => {
                        tracing::error!(?location, reason, "record skipped by the profile engine");
                        None
                    }
                }
            })
            .collect();
        let now = self.now();
        let (actions, recent) = {
            let mut book = self.shared.book();
            let actions: Vec<Action> = decoded.iter().flat_map(|r| book.apply(r, now)).collect();
            (actions, book.take_recent())
        };
        self.emit(actions);
        for change in recent {
            // No subscriber is fine: nobody is waiting.
            let _ = self.shared.changes.send(change);
        }
    }

    fn serve(&mut self, receiver: &mpsc::Receiver<Input>) {
        loop {
            let wait = if !self.jobs.is_empty() {
                Duration::ZERO
            } else if self.sequencer.is_waiting() {
                Duration::from_millis(50)
            } else {
                Duration::from_millis(200)
            };
            match receiver.recv_timeout(wait) {
                Ok(Input::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.checkpoint_now();
                    return;
                }
                Ok(input) => self.handle(input),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            self.fill_gaps();
            self.fire_timers();
            self.step_backfill();
            self.maybe_checkpoint();
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Records(records) => {
                let count = records.len();
                self.admit(records);
                self.shared.backlog.done(count);
            }
            Input::Barrier(done) => {
                if self.sequencer.is_waiting() {
                    self.held_barriers.push(done);
                } else {
                    let _ = done.send(());
                }
            }
            Input::WhenBackfilled(done) => {
                if self.jobs.is_empty() {
                    let _ = done.send(());
                } else {
                    self.backfill_waiters.push(done);
                }
            }
            Input::Tick => self.fire_timers(),
            Input::AddSegment(entry, reply) => {
                let name = entry.name.clone();
                let _ = reply.send(self.add(name, |book, cut| book.add_segment(*entry, cut)));
            }
            Input::AddTrait {
                definition,
                from_config,
                reply,
            } => {
                let name = definition.name.clone();
                let _ = reply.send(self.add(name.clone(), |book, cut| {
                    if from_config {
                        book.remove_definition(DefinitionKind::ComputedTrait, &name);
                        book.definitions.from_config.insert(name);
                    }
                    book.add_trait(definition, cut);
                }));
            }
            Input::Remove(kind, name, reply) => {
                let _ = reply.send(self.remove(kind, &name));
            }
            Input::Erase(profiles, done) => {
                self.shared.book().erase(&profiles);
                // The store forgets the person now, not at the next checkpoint.
                self.checkpoint_now();
                let _ = done.send(());
            }
            Input::Stop => {}
        }
    }

    /// Adds a definition at the current end of the log and saves the
    /// definitions; the back-fill then reads everything before that end.
    fn add(
        &mut self,
        name: String,
        install: impl FnOnce(&mut ProfileBook, Vec<u64>),
    ) -> Result<(), EngineError> {
        self.drop_job(&name); // a replaced definition's back-fill
        let cut = end_offsets(&self.collector)?;
        let mut book = self.shared.book();
        install(&mut book, cut.clone());
        if let Err(e) = self.store.save(book.definitions()) {
            tracing::error!(error = %e, "definitions not saved");
            return Err(e);
        }
        drop(book);
        self.jobs.push(BackfillJob::new(name, cut));
        self.publish_jobs();
        self.checkpoint_now();
        Ok(())
    }

    /// Deletes a definition, its state and its back-fill, and saves.
    fn remove(&mut self, kind: DefinitionKind, name: &str) -> Result<(), EngineError> {
        let mut book = self.shared.book();
        if !book.remove_definition(kind, name) {
            return Err(EngineError::NotFound(format!(
                "no {} named '{name}'",
                kind.noun()
            )));
        }
        let saved = self.store.save(book.definitions());
        drop(book);
        self.drop_job(name);
        self.checkpoint_now();
        self.answer_waiters_if_idle();
        saved
    }

    /// Stops the back-fill of `name`, if one runs.
    fn drop_job(&mut self, name: &str) {
        self.jobs.retain(|job| job.name != name);
        self.publish_jobs();
    }

    /// Answers those waiting for back-fills once none is left.
    fn answer_waiters_if_idle(&mut self) {
        if self.jobs.is_empty() {
            for waiter in self.backfill_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    /// Reads from the log the records a lasting gap is missing.
    fn fill_gaps(&mut self) {
        for (partition, from, to) in self.sequencer.stalled(GAP_PATIENCE) {
            let reader = match self.collector.log().reader(partition, from) {
                Ok(reader) => reader,
                Err(e) => {
                    tracing::error!(partition, error = %e, "cannot read a gap in the log");
                    continue;
                }
            };
            let missing: Vec<Arrived> = reader
                .map_while(Result::ok)
                .take_while(|(_, location)| location.offset < to)
                .map(|(record, location)| {
                    Arrived::read(AppendedRecord {
                        location,
                        payload: record.payload,
                    })
                })
                .collect();
            tracing::warn!(
                partition,
                from,
                to,
                read = missing.len(),
                "filled a gap from the log"
            );
            self.admit(missing);
        }
    }

    /// Applies what is in log order now; answers held barriers once no
    /// record waits.
    fn admit(&mut self, records: Vec<Arrived>) {
        let ready = self.sequencer.admit(records);
        self.apply(ready);
        if !self.sequencer.is_waiting() {
            for barrier in self.held_barriers.drain(..) {
                let _ = barrier.send(());
            }
        }
    }

    fn fire_timers(&self) {
        let now = self.now();
        let actions = self.shared.book().fire_timers(now);
        self.emit(actions);
    }

    /// Reads one chunk of the oldest back-fill.
    fn step_backfill(&mut self) {
        let Some(job) = self.jobs.first_mut() else {
            return;
        };
        let now = self.shared.clock.now_millis();
        let finished = job.step(&self.collector, &self.shared, now);
        let (name, read) = (job.name.clone(), job.read);
        self.publish_jobs();
        if finished {
            self.drop_job(&name);
            self.shared.book().finish_backfill(&name);
            tracing::info!(definition = name, records = read, "back-fill complete");
            self.judge_everyone(now);
            self.checkpoint_now();
            self.answer_waiters_if_idle();
        }
    }
}
