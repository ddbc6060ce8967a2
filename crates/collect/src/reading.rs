//! Reading events back, and rebuilding what is derived from the log.

use percorso_identity::{IdentityStamp, ProfileId};
use percorso_log::{OpenMode, RecordLocation};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::collector::Collector;
use crate::error::CollectError;
use crate::index::{IdKind, IndexedEvent};
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
        let ids = {
            let graph = self.identity.graph();
            let Some(live) = graph.canonical(&ProfileId(profile.to_owned())) else {
                return Ok(None);
            };
            let mut ids = vec![live.0.clone()];
            ids.extend(graph.absorbed(&live).iter().map(|p| p.0.clone()));
            ids
        };
        self.events_of(IdKind::Profile, &ids, limit).map(Some)
    }

    fn events_of(
        &self,
        kind: IdKind,
        ids: &[String],
        limit: usize,
    ) -> Result<EventPage, CollectError> {
        let mut candidates: Vec<IndexedEvent> = ids
            .iter()
            .flat_map(|id| self.index.candidates(kind, id))
            .collect();
        candidates.sort_by_key(|c| (c.timestamp, c.location.partition, c.location.offset));
        candidates.dedup_by_key(|c| c.location);
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

    /// A page of quarantined events from `offset`.
    pub fn quarantined(&self, offset: u64, limit: usize) -> Result<QuarantinePage, CollectError> {
        quarantine::read_page(&self.quarantine, offset, limit)
    }

    /// Replays every partition into the dedup window and the event index,
    /// one thread per partition.
    pub(crate) fn rebuild_from_log(&self, mode: OpenMode) -> Result<RebuildStats, CollectError> {
        let now = self.clock().now_millis();
        let partitions = self.log.partition_count();
        let counts = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..partitions)
                .map(|p| scope.spawn(move || self.rebuild_partition(p, now)))
                .collect();
            workers
                .into_iter()
                // A worker that panicked would leave its partition out of the
                // index and the dedup window; better to fail the open loudly.
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Result<Vec<_>, CollectError>>()
        })?;
        let mut facts = Vec::new();
        let mut events = 0;
        let mut unfinished = Vec::new();
        for (count, partition_facts, to_erase) in counts {
            events += count;
            facts.extend(partition_facts);
            unfinished.extend(to_erase);
        }
        if mode == OpenMode::ReadWrite && !unfinished.is_empty() {
            tracing::warn!(
                records = unfinished.len(),
                "finishing an erasure a crash interrupted"
            );
            self.log.erase(&unfinished)?;
        }
        self.identity.restore(&facts);
        self.identity
            .graph()
            .reserve_sequences_below(self.erased.sequence_floor);
        let stats = RebuildStats { events };
        tracing::info!(
            events = stats.events,
            profiles = self.identity.graph().profile_count(),
            "rebuilt dedup window, event index and identity graph from the log"
        );
        Ok(stats)
    }

    /// Reads one partition; also returns the records of erased profiles
    /// still in it (an erasure a crash cut short).
    fn rebuild_partition(
        &self,
        partition: u16,
        now: i64,
    ) -> Result<(u64, Facts, Vec<RecordLocation>), CollectError> {
        let mut events = 0;
        let mut facts = Vec::new();
        let mut to_erase = Vec::new();
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
                to_erase.push(location);
                continue;
            }
            self.dedup
                .remember(stored.dedup_key, stored.received_at, now);
            let indexed = IndexedEvent {
                location,
                timestamp: stored.timestamp,
            };
            self.index.add_all([(
                [stored.user_id, stored.anonymous_id, stored.profile_id],
                indexed,
            )]);
            if !stored.stamp.is_empty() {
                let stamp =
                    IdentityStamp::decode(stored.stamp).map_err(|reason| CollectError::Decode {
                        location: format!("{location:?}"),
                        reason,
                    })?;
                facts.push((ProfileId(stored.profile_id.to_owned()), stamp));
            }
            events += 1;
        }
        Ok((events, facts, to_erase))
    }
}

fn decode<'a>(bytes: &'a [u8], candidate: &IndexedEvent) -> Result<StoredEvent<'a>, CollectError> {
    StoredEvent::decode(bytes).map_err(|reason| CollectError::Decode {
        location: format!("{:?}", candidate.location),
        reason,
    })
}
