//! Each person's events as one run, merged from every file of a snapshot:
//! the one pass all journey kernels share.
//!
//! Files are each sorted by (profile key, time), so a k-way merge on the
//! key gives each person's events together; a person found in several
//! files has their events put back in time order. The key space is split
//! between threads, each merging its own range of every file.
//!
//! Profiles merged since the files were last rewritten, and erased ones,
//! are fixed here: an erased person's events are skipped; a merged-away
//! person's events, and those of the profile they joined, are set aside
//! and handed to the kernel together at the end, as one person.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::error::AnalyticsError;
use crate::source::{Chunk, FileSource, ScanContext};

/// One event of a person, as kernels see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub time: i64,
    pub received: i64,
    /// Code of the activity name in the scan's activity codebook.
    pub activity: u32,
    /// Code of the channel in the scan's channel codebook, 0 for none.
    pub channel: u32,
    /// Conditions the event meets (see [`crate::tagger::Tagger`]).
    pub mask: u64,
    /// Group code given by the tagger (e.g. a breakdown value), 0 for none.
    pub group: u32,
}

/// A computation over every person's events, run on several threads and
/// merged.
pub trait Kernel: Send {
    /// Called once per person with their events in time order.
    fn person(&mut self, key: u64, visits: &[Visit]);
    fn merge(&mut self, other: Self);
}

/// Identity changes the files do not show yet.
#[derive(Debug, Default, Clone)]
pub struct Adjustments {
    /// Key of a profile merged away → key of the profile it now belongs to.
    pub moved: HashMap<u64, u64>,
    /// Keys that received a merged-away profile.
    pub receivers: HashSet<u64>,
    pub erased: HashSet<u64>,
}

impl Adjustments {
    pub fn is_empty(&self) -> bool {
        self.moved.is_empty() && self.erased.is_empty()
    }
}

struct Cursor<'a> {
    source: FileSource<'a>,
    chunk: Chunk,
    at: usize,
}

impl Cursor<'_> {
    /// The key at the cursor, reading the next chunk when this one is done.
    fn key(&mut self) -> Result<Option<u64>, AnalyticsError> {
        if self.at >= self.chunk.len() {
            if !self.source.next_chunk(&mut self.chunk)? {
                return Ok(None);
            }
            self.at = 0;
        }
        Ok(Some(self.chunk.keys[self.at]))
    }

    fn visit(&self) -> Visit {
        self.chunk.visits[self.at]
    }
}

/// Runs `kernel` over every person whose key is in `keys`, across `files`.
/// Returns the kernel and the events set aside for identity changes.
pub fn run_range<K: Kernel>(
    files: &[std::path::PathBuf],
    keys: Range<u64>,
    context: &ScanContext<'_>,
    adjustments: &Adjustments,
    mut kernel: K,
) -> Result<(K, Vec<(u64, Visit)>), AnalyticsError> {
    let mut cursors = Vec::with_capacity(files.len());
    // Events are put back in (time, arrival) order only when they come
    // from several files or are set aside.
    let received = files.len() > 1 || !adjustments.is_empty();
    for path in files {
        cursors.push(Cursor {
            source: FileSource::open(path, keys.clone(), context, received)?,
            chunk: Chunk::default(),
            at: 0,
        });
    }
    let mut set_aside = Vec::new();
    let mut visits: Vec<Visit> = Vec::new();
    let adjust = !adjustments.is_empty();
    loop {
        let mut next: Option<u64> = None;
        for cursor in cursors.iter_mut() {
            if let Some(key) = cursor.key()? {
                next = Some(next.map_or(key, |n: u64| n.min(key)));
            }
        }
        let Some(key) = next else { break };
        visits.clear();
        let mut sources = 0;
        for cursor in cursors.iter_mut() {
            let mut took = false;
            while cursor.key()? == Some(key) {
                visits.push(cursor.visit());
                cursor.at += 1;
                took = true;
            }
            sources += usize::from(took);
        }
        if sources > 1 {
            visits.sort_by_key(|v| (v.time, v.received));
        }
        if adjust {
            if adjustments.erased.contains(&key) {
                continue;
            }
            let owner = adjustments.moved.get(&key).copied();
            if owner.is_some() || adjustments.receivers.contains(&key) {
                let owner = owner.unwrap_or(key);
                set_aside.extend(visits.iter().map(|v| (owner, *v)));
                continue;
            }
        }
        if context.includes(key) {
            kernel.person(key, &visits);
        }
    }
    Ok((kernel, set_aside))
}

/// Hands the set-aside events to `kernel`, one person per owner key.
pub fn run_set_aside<K: Kernel>(
    mut set_aside: Vec<(u64, Visit)>,
    context: &ScanContext<'_>,
    kernel: &mut K,
) {
    set_aside.sort_by_key(|(owner, v)| (*owner, v.time, v.received));
    let mut visits = Vec::new();
    let mut start = 0;
    while start < set_aside.len() {
        let owner = set_aside[start].0;
        let end = start + set_aside[start..].partition_point(|(o, _)| *o == owner);
        visits.clear();
        visits.extend(set_aside[start..end].iter().map(|(_, v)| *v));
        if context.includes(owner) {
            kernel.person(owner, &visits);
        }
        start = end;
    }
}

/// The key space cut into `parts` equal ranges (hash keys spread evenly).
pub fn key_ranges(parts: usize) -> Vec<Range<u64>> {
    let parts = parts.max(1) as u128;
    let span = (u64::MAX as u128 + 1) / parts;
    (0..parts)
        .map(|i| {
            let start = (i * span) as u64;
            let end = if i + 1 == parts {
                u64::MAX
            } else {
                ((i + 1) * span) as u64
            };
            start..end
        })
        .collect()
}
