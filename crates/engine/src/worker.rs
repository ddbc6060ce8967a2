//! The engine's thread: replays the log into the book, then serves the
//! queue — records in log order, definition changes, barriers, ticks —
//! checkpointing as it goes and stepping back-fills between inputs.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use percorso_collect::{Backlog, Collector};
use tokio::sync::oneshot;

use crate::book::{Action, ProfileBook};
use crate::definitions::DefinitionStore;
use crate::feed::Arrived;
use crate::input::Record;
use crate::jobs::BackfillJob;
use crate::journeys::ledger::JourneyStore;
use crate::removal::DefinitionKind;
use crate::runner::{end_offsets, ActionSink, EngineError, Input, Shared};
use crate::sequencer::Sequencer;

/// How the thread reaches the outside.
pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) collector: Arc<Collector>,
    pub(crate) store: DefinitionStore,
    pub(crate) journey_store: JourneyStore,
    pub(crate) sink: Arc<dyn ActionSink>,
    pub(crate) jobs: Vec<BackfillJob>,
    pub(crate) backfill_waiters: Vec<oneshot::Sender<()>>,
    pub(crate) last_checkpoint: Instant,
    pub(crate) checkpoint_every: Duration,
    pub(crate) sequencer: Sequencer,
    /// Barriers held while records wait for a gap (answered once applied).
    pub(crate) held_barriers: Vec<oneshot::Sender<()>>,
}

/// Closes the backlog when dropped (the engine thread ending, even by
/// panic).
struct CloseOnDrop(Arc<Backlog>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Worker {
    pub fn new(
        shared: Arc<Shared>,
        collector: Arc<Collector>,
        store: DefinitionStore,
        journey_store: JourneyStore,
        sink: Arc<dyn ActionSink>,
        jobs: Vec<BackfillJob>,
        checkpoint_every: Duration,
    ) -> Self {
        let worker = Self {
            shared,
            collector,
            store,
            journey_store,
            sink,
            jobs,
            backfill_waiters: Vec::new(),
            last_checkpoint: Instant::now(),
            checkpoint_every,
            sequencer: Sequencer::default(),
            held_barriers: Vec::new(),
        };
        worker.publish_jobs();
        worker
    }

    /// The thread's whole life: replay up to `ends`, then serve.
    pub fn run(mut self, ends: &[u64], receiver: &mpsc::Receiver<Input>) {
        // However the thread ends, ingestion stops waiting for it.
        let _closer = CloseOnDrop(self.shared.backlog.clone());
        self.replay(ends);
        self.serve(receiver);
    }

    pub(crate) fn now(&self) -> i64 {
        self.shared.clock.now_millis()
    }

    pub(crate) fn emit(&self, actions: Vec<Action>) {
        if !actions.is_empty() {
            self.sink.emit(actions);
        }
    }

    /// Judges every profile, a page at a time, writing checkpoints between
    /// pages as memory fills.
    pub(crate) fn judge_everyone(&mut self, now: i64) {
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
    /// The checkpoint is written on its own thread while records go on;
    /// the next is not taken before that one is written.
    pub(crate) fn maybe_checkpoint(&mut self) {
        let mut book = self.shared.book();
        if !book.poll_checkpoint() {
            return;
        }
        if book.checkpoint_due() || self.last_checkpoint.elapsed() >= self.checkpoint_every {
            book.checkpoint();
            drop(book);
            self.last_checkpoint = Instant::now();
        }
    }

    /// Writes a checkpoint and waits until the store has it.
    pub(crate) fn checkpoint_now(&mut self) {
        self.shared.book().checkpoint_and_wait();
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

    pub(crate) fn apply(&self, records: Vec<Arrived>) {
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
        let (actions, recent, fresh) = {
            let mut book = self.shared.book();
            // Replaying, a record is applied at the time it was first
            // applied (its arrival), not today: windows then hold what they
            // held live, and journeys reading them decide as they did.
            let live = book.live;
            let at = |r: &Record| if live { now } else { r.received_at.min(now) };
            let actions: Vec<Action> = decoded.iter().flat_map(|r| book.apply(r, at(r))).collect();
            let fresh = std::mem::take(&mut book.journeys.fresh);
            (actions, book.take_recent(), fresh)
        };
        self.emit(actions);
        self.carry_out(fresh);
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
            Input::Journey(entry, reply) => {
                let _ = reply.send(self.journey_change(*entry));
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

    /// Applies what is in log order now; answers held barriers once no
    /// record waits.
    pub(crate) fn admit(&mut self, records: Vec<Arrived>) {
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
        let (actions, fresh) = {
            let mut book = self.shared.book();
            let mut actions = book.fire_timers(now);
            actions.extend(book.fire_journey_timers(now));
            actions.extend(book.fire_schedules(now));
            (actions, std::mem::take(&mut book.journeys.fresh))
        };
        self.emit(actions);
        self.carry_out(fresh);
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
