//! Reading events back, and rebuilding what is derived from the log.

use percorso_identity::{IdentityStamp, ProfileId};
use percorso_log::{OpenMode, RecordLocation};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::collector::Collector;
use crate::error::CollectError;
use crate::filing;
use crate::index::{IdKind, IndexKey, IndexedEvent};
use crate::quarantine::{self, QuarantinePage};
use crate::stored::StoredEvent;

/// Events of one user id or anonymous id.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub kind: IdKind,
    pub id: String,
    pub limit: usize,
}

/// Stored events in time order.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    /// Each event as stored: its members in the order they were sent.
    pub events: Vec<Box<RawValue>>,
    /// How many events the id has in all; more than `events.len()` when
    /// the limit cut the list.
    pub total: usize,
}

/// Identity stamps read from one partition.
type Facts = Vec<(ProfileId, IdentityStamp)>;

/// What reading one partition at start gathered.
#[derive(Default)]
struct PartitionScan {
    events: u64,
    facts: Facts,
    /// Records of erased profiles still readable (an erasure a crash cut
    /// short), with their ids as stored, to find their index entries.
    to_erase: Vec<(RecordLocation, [String; 3])>,
}

/// What a rebuild read.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RebuildStats {
    pub events: u64,
}

impl Collector {
    /// The id's events in time order (ties in arrival order), the first `limit`.
    pub fn events(&self, query: &EventQuery) -> Result<EventPage, CollectError> {
        self.events_of(query.kind, std::slice::from_ref(&query.id), query.limit)
    }

    /// A profile's timeline: its events and those of every profile merged
    /// into it, in time order, the first `limit`. `None` for an unknown or
    /// merged-away profile id.
    pub fn timeline(&self, profile: &str, limit: usize) -> Result<Option<EventPage>, CollectError> {
        let family = self.identity.graph().family(&ProfileId::new(profile))?;
        let Some(family) = family else {
            return Ok(None);
        };
        let ids: Vec<String> = family.into_iter().map(ProfileId::into_string).collect();
        self.events_of(IdKind::Profile, &ids, limit).map(Some)
    }

    fn events_of(
        &self,
        kind: IdKind,
        ids: &[String],
        limit: usize,
    ) -> Result<EventPage, CollectError> {
        let keys = filing::lookup_keys(&mut self.identity.graph(), kind, ids)?;
        let mut candidates = self.index.candidates(&keys)?;
        candidates.sort_by_key(|c| (c.timestamp, c.location.partition, c.location.offset));
        let mut events = Vec::new();
        let mut total = 0;
        for candidate in candidates {
            let bytes = self.log.read_at(candidate.location)?;
            if bytes.is_empty() {
                continue; // erased since the index was read
            }
            let stored = decode(&bytes, &candidate)?;
            let id = match kind {
                IdKind::UserId => stored.user_id,
                IdKind::AnonymousId => stored.anonymous_id,
                IdKind::Profile => stored.profile_id,
            };
            if !ids.iter().any(|wanted| wanted == id) {
                continue; // a hash collision, not this person
            }
            total += 1;
            if events.len() < limit {
                let value = serde_json::from_slice::<&RawValue>(stored.json)
                    .map(RawValue::to_owned)
                    .map_err(|e| CollectError::Decode {
                        location: format!("{:?}", candidate.location),
                        reason: e.to_string(),
                    })?;
                events.push(value);
            }
        }
        Ok(EventPage { events, total })
    }

    /// How many index entries are filed under the id's own key, whatever
    /// the records now hold (erased ones count): what an erasure must
    /// leave at zero.
    pub fn index_entries(&self, kind: IdKind, id: &str) -> Result<usize, CollectError> {
        Ok(self.index.candidates(&[IndexKey::new(kind, id)])?.len())
    }

    /// A page of quarantined events from `offset`.
    pub fn quarantined(&self, offset: u64, limit: usize) -> Result<QuarantinePage, CollectError> {
        quarantine::read_page(&self.quarantine, offset, limit)
    }

    /// Replays every partition into the dedup window, one thread per
    /// partition; applies to the identity graph the facts after what the
    /// store covers, and files in the event index the records after what
    /// it covers.
    pub(crate) fn rebuild_from_log(&self, mode: OpenMode) -> Result<RebuildStats, CollectError> {
        let now = self.clock().now_millis();
        let partitions = self.log.partition_count();
        let ends = self.log.end_offsets()?;
        let covered = self.index.clamp_coverage(&ends);
        // The stored graph holds the facts below its coverage.
        let facts_from = read_from(self.identity.covered()?, &ends);
        // Keys below the stored coverage are in the store. Only a writer
        // has a store; a reader never claims a key, so it remembers none.
        let keys_from = match self.dedup.rows() {
            Some(rows) => read_from(rows.covered()?, &ends),
            None => ends.clone(),
        };
        let scans = per_partition(partitions, |p| {
            let index = usize::from(p);
            self.rebuild_partition(p, now, facts_from[index], keys_from[index])
        })?;
        let mut whole = PartitionScan::default();
        for scan in scans {
            whole.events += scan.events;
            whole.facts.extend(scan.facts);
            whole.to_erase.extend(scan.to_erase);
        }
        if mode == OpenMode::ReadWrite && !whole.to_erase.is_empty() {
            tracing::warn!(
                records = whole.to_erase.len(),
                "finishing an erasure a crash interrupted"
            );
            // The index first, as the erasure itself does.
            self.index.remove(&filing::filed_under(&whole.to_erase))?;
            let locations: Vec<RecordLocation> = whole.to_erase.iter().map(|(l, _)| *l).collect();
            self.log.erase(&locations)?;
        }
        self.identity.restore(&whole.facts)?;
        if mode == OpenMode::ReadWrite {
            self.forget_erased_identities()?;
        }
        self.identity
            .graph()
            .reserve_sequences_below(self.erased.sequence_floor);
        // Filed once the graph is whole, since whether an id is stray
        // depends on it: a second read, of what the store does not cover.
        let filed: u64 = per_partition(partitions, |p| {
            let covered = covered.get(usize::from(p)).copied().unwrap_or(0);
            self.file_from(p, covered)
        })?
        .into_iter()
        .sum();
        let stats = RebuildStats {
            events: whole.events,
        };
        tracing::info!(
            events = stats.events,
            filed,
            facts = whole.facts.len(),
            profiles = self.identity.graph().profile_count(),
            "rebuilt the dedup window from the log, the identity graph and the index from its tail"
        );
        Ok(stats)
    }

    /// Files in the event index the records of `partition` from `offset`
    /// on; returns how many.
    fn file_from(&self, partition: u16, offset: u64) -> Result<u64, CollectError> {
        let mut filed = 0;
        let mut entries = Vec::new();
        let mut read = Vec::new();
        let mut reader = self.log.reader(partition, offset)?.peekable();
        while reader.peek().is_some() {
            let records: Vec<_> = reader.by_ref().take(FILING_CHUNK).collect();
            let mut graph = self.identity.graph();
            for record in records {
                let (record, location) = record?;
                // Covered whether or not it has entries.
                read.push(location);
                if record.payload.is_empty() {
                    continue; // erased
                }
                let stored = StoredEvent::decode(&record.payload).map_err(|reason| {
                    CollectError::Decode {
                        location: format!("{location:?}"),
                        reason,
                    }
                })?;
                if self.erased.contains(stored.profile_id) {
                    continue;
                }
                let indexed = IndexedEvent {
                    location,
                    timestamp: stored.timestamp,
                };
                let ids = [stored.user_id, stored.anonymous_id, stored.profile_id];
                filing::file(&mut graph, ids, [None; 2], indexed, &mut entries);
                filed += 1;
            }
            drop(graph);
            self.index.add_all(std::mem::take(&mut entries), &read);
            read.clear();
        }
        Ok(filed)
    }

    /// Reads one partition's dedup keys from offset `keys_from` on, and
    /// its identity facts from offset `facts_from` on.
    fn rebuild_partition(
        &self,
        partition: u16,
        now: i64,
        facts_from: u64,
        keys_from: u64,
    ) -> Result<PartitionScan, CollectError> {
        let mut scan = PartitionScan::default();
        for record in self.log.reader(partition, 0)? {
            let (record, location) = record?;
            if record.payload.is_empty() {
                continue; // erased
            }
            let stored =
                StoredEvent::decode(&record.payload).map_err(|reason| CollectError::Decode {
                    location: format!("{location:?}"),
                    reason,
                })?;
            if self.erased.contains(stored.profile_id) {
                let ids = [stored.user_id, stored.anonymous_id, stored.profile_id];
                scan.to_erase.push((location, ids.map(str::to_owned)));
                continue;
            }
            if location.offset >= keys_from {
                self.dedup
                    .remember(stored.dedup_key, stored.received_at, now);
            }
            if !stored.stamp.is_empty() && location.offset >= facts_from {
                let stamp =
                    IdentityStamp::decode(stored.stamp).map_err(|reason| CollectError::Decode {
                        location: format!("{location:?}"),
                        reason,
                    })?;
                scan.facts.push((ProfileId::new(stored.profile_id), stamp));
            }
            scan.events += 1;
        }
        Ok(scan)
    }
}

/// Where to start reading each partition given a stored coverage: there,
/// or from the start where none is stored; never past the log's end (a
/// log whose damaged tail was set aside may end below the coverage).
fn read_from(mut covered: Vec<u64>, ends: &[u64]) -> Vec<u64> {
    covered.resize(ends.len(), 0);
    for (from, end) in covered.iter_mut().zip(ends) {
        *from = (*from).min(*end);
    }
    covered
}

/// Runs `work` for every partition, one thread each.
fn per_partition<T: Send>(
    partitions: u16,
    work: impl Fn(u16) -> Result<T, CollectError> + Sync,
) -> Result<Vec<T>, CollectError> {
    std::thread::scope(|scope| {
        let work = &work;
        let workers: Vec<_> = (0..partitions)
            .map(|p| scope.spawn(move || work(p)))
            .collect();
        workers
            .into_iter()
            // A worker that panicked would leave its partition out of the
            // index and the dedup window; better to fail the open loudly.
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Records filed per hold of the identity graph at start.
const FILING_CHUNK: usize = 4_096;

fn decode<'a>(bytes: &'a [u8], candidate: &IndexedEvent) -> Result<StoredEvent<'a>, CollectError> {
    StoredEvent::decode(bytes).map_err(|reason| CollectError::Decode {
        location: format!("{:?}", candidate.location),
        reason,
    })
}
