//! The parallel driver: profiles are cut into fixed chunks, workers render
//! chunks into their own buffers, and the caller's thread writes them in
//! chunk order. Chunk boundaries do not depend on the thread count and each
//! profile has its own PRNG, so the bytes never do either.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::config::GeneratorConfig;
use crate::emit::{write_profile, Contact};
use crate::event::Event;
use crate::profile::simulate;
use crate::truths::tally::Tally;
use crate::truths::PlantedTruths;

const PROFILES_PER_CHUNK: u64 = 256;

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateSummary {
    pub profiles: u64,
    pub events: u64,
    pub bytes: u64,
    pub truths: PlantedTruths,
}

/// Writes the dataset of `cfg` to `out` as JSONL, one Segment message per
/// line, profile after profile, and returns counts and planted truths.
pub fn generate<W: Write>(cfg: &GeneratorConfig, mut out: W) -> io::Result<GenerateSummary> {
    let chunks = cfg.profiles.div_ceil(PROFILES_PER_CHUNK);
    let workers = usize::try_from(chunks)
        .unwrap_or(usize::MAX)
        .min(cfg.threads.max(1));
    let mut tally = Tally::default();
    let mut bytes = 0u64;
    if chunks > 0 {
        let gate = Gate::new(chunks, 2 * workers as u64 + 2);
        let spare_buffers = Mutex::new(Vec::<Vec<u8>>::new());
        let (done_tx, done_rx) = mpsc::channel::<RenderedChunk>();
        let written = std::thread::scope(|scope| {
            for _ in 0..workers {
                let done_tx = done_tx.clone();
                let (gate, spare_buffers) = (&gate, &spare_buffers);
                scope.spawn(move || render_chunks(cfg, gate, spare_buffers, &done_tx));
            }
            drop(done_tx);
            let mut pending = BTreeMap::new();
            let mut next = 0u64;
            let mut result = Ok(());
            for chunk in done_rx {
                pending.insert(chunk.index, chunk);
                while let Some(ready) = pending.remove(&next) {
                    if result.is_ok() {
                        result = out.write_all(&ready.buffer);
                        if result.is_err() {
                            gate.stop();
                        }
                    }
                    bytes += ready.buffer.len() as u64;
                    tally.merge(&ready.tally);
                    let mut buffer = ready.buffer;
                    buffer.clear();
                    lock(&spare_buffers).push(buffer);
                    next += 1;
                    gate.written_one();
                }
            }
            result
        });
        written?;
    }
    out.flush()?;
    Ok(GenerateSummary {
        profiles: cfg.profiles,
        events: tally.events,
        bytes,
        truths: PlantedTruths::new(cfg, &tally),
    })
}

struct RenderedChunk {
    index: u64,
    buffer: Vec<u8>,
    tally: Tally,
}

fn render_chunks(
    cfg: &GeneratorConfig,
    gate: &Gate,
    spare_buffers: &Mutex<Vec<Vec<u8>>>,
    done: &mpsc::Sender<RenderedChunk>,
) {
    let start = cfg.start.as_millisecond();
    let mut events: Vec<Event> = Vec::with_capacity(256);
    let mut contact = Contact::default();
    while let Some(index) = gate.claim() {
        let mut buffer = lock(spare_buffers).pop().unwrap_or_default();
        let mut tally = Tally::default();
        let first = index * PROFILES_PER_CHUNK;
        let last = (first + PROFILES_PER_CHUNK).min(cfg.profiles);
        for profile in first..last {
            let person = simulate(cfg.seed, profile, start, cfg.days, &mut events);
            tally.observe(&events);
            write_profile(&mut buffer, cfg.seed, start, &person, &mut contact, &events);
        }
        let rendered = RenderedChunk {
            index,
            buffer,
            tally,
        };
        if done.send(rendered).is_err() {
            return;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking worker fails the whole scope anyway; the data stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands out chunk indexes in order, holding workers back while the writer
/// is `window` chunks behind so memory stays bounded.
struct Gate {
    state: Mutex<GateState>,
    turn: Condvar,
    chunks: u64,
    window: u64,
}

struct GateState {
    next: u64,
    written: u64,
    stopped: bool,
}

impl Gate {
    fn new(chunks: u64, window: u64) -> Self {
        Gate {
            state: Mutex::new(GateState {
                next: 0,
                written: 0,
                stopped: false,
            }),
            turn: Condvar::new(),
            chunks,
            window,
        }
    }

    fn claim(&self) -> Option<u64> {
        let mut state = lock(&self.state);
        loop {
            if state.stopped || state.next >= self.chunks {
                return None;
            }
            if state.next < state.written + self.window {
                state.next += 1;
                return Some(state.next - 1);
            }
            state = self
                .turn
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn written_one(&self) {
        lock(&self.state).written += 1;
        self.turn.notify_all();
    }

    fn stop(&self) {
        lock(&self.state).stopped = true;
        self.turn.notify_all();
    }
}
