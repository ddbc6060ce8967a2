//! Accepted events into the log: deduplicate, resolve identity, route to
//! the profile's partition, append durably, index, tell the listener.

use std::collections::BTreeMap;

use percorso_log::RecordLocation;

use crate::backlog::Backlog;
use crate::collector::Collector;
use crate::dedup::Claim;
use crate::error::CollectError;
use crate::filing;
use crate::incoming::IngestOutcome;
use crate::index::IndexedEvent;
use crate::normalize::NormalizedEvent;
use crate::sources::Source;
use crate::stored::StoredEvent;

/// An event accepted and waiting for its partition to make it durable.
pub(crate) struct Pending {
    pub event: NormalizedEvent,
    pub dedup_key: u128,
    /// A profile fixed in advance (events Percorso derives); `None` means
    /// identity resolution decides.
    pub profile: Option<String>,
    /// Whether the graph leads the event's user id and anonymous id to its
    /// profile, when resolution told (`None`: the index asks the graph).
    pub leads: [Option<bool>; 2],
}

/// A record the log made durable, as its bytes.
#[derive(Debug, Clone)]
pub struct AppendedRecord {
    pub location: RecordLocation,
    pub payload: Vec<u8>,
}

/// Told of every batch of records once durable (the profile engine's feed).
pub trait AppendListener: Send + Sync + std::fmt::Debug {
    fn appended(&self, records: Vec<AppendedRecord>);

    /// How far behind the listener is; ingestion waits while it is too far.
    fn backlog(&self) -> Option<&Backlog> {
        None
    }
}

/// A pending event with its resolved profile, encoded for the log.
struct Routed {
    pending: Pending,
    payload: Vec<u8>,
}

impl Collector {
    /// Has `listener` told of every record appended from now on. Install it
    /// before serving: records appended earlier are read from the log.
    pub fn set_append_listener(
        &self,
        listener: std::sync::Arc<dyn AppendListener>,
    ) -> Result<(), CollectError> {
        self.listener
            .set(listener)
            .map_err(|_| CollectError::Config("an append listener is already set".into()))
    }

    /// Stores each event unless a copy of it is already durable. A copy
    /// that another request is still storing is waited for: answering
    /// "duplicate" before that copy is durable could acknowledge an event
    /// that is then lost.
    pub(crate) async fn store_once(
        &self,
        source: &Source,
        mut events: Vec<Pending>,
        now: i64,
        outcome: &mut IngestOutcome,
    ) -> Result<(), CollectError> {
        let _shared = self.erase_gate.read().await;
        // Percorso's own events about a person erased meanwhile (say a
        // segment exit the engine decided just before): they must not
        // bring the person back.
        events.retain(|p| {
            let erased = p
                .profile
                .as_deref()
                .is_some_and(|id| self.erased.contains(id));
            if erased {
                metrics::counter!("percorso_events_for_erased_profiles_total").increment(1);
            }
            !erased
        });
        while !events.is_empty() {
            let mut by_partition: BTreeMap<u16, Vec<Routed>> = BTreeMap::new();
            let mut in_flight = Vec::new();
            // Until the append settles, identity facts decided here may
            // yet be lost: the graph's writer waits for them.
            let settling = self.identity.settling();
            let mut claimed = Vec::new();
            for pending in events {
                match self.dedup.claim(pending.dedup_key, now) {
                    Ok(Claim::New) => claimed.push(pending),
                    Ok(Claim::Duplicate) => outcome.duplicates += 1,
                    Ok(Claim::InFlight(settled)) => in_flight.push((pending, settled)),
                    Err(e) => {
                        for p in &claimed {
                            self.dedup.release(p.dedup_key);
                        }
                        return Err(e.into());
                    }
                }
            }
            let mut routing = claimed.into_iter();
            while let Some(pending) = routing.next() {
                let key = pending.dedup_key;
                match self.route(source, pending) {
                    Ok((partition, routed)) => {
                        by_partition.entry(partition).or_default().push(routed)
                    }
                    Err(e) => {
                        // Nothing of this batch was stored: a retry must
                        // not wait on claims nobody will settle.
                        // A failed resolution reads before it changes
                        // anything; those routed before it did change it.
                        if !by_partition.is_empty() {
                            self.identity.not_appended();
                        }
                        self.dedup.release(key);
                        let routed = by_partition.values().flatten().map(|r| &r.pending);
                        for p in routed.chain(routing.as_slice()) {
                            self.dedup.release(p.dedup_key);
                        }
                        return Err(e);
                    }
                }
            }
            outcome.stored += self.append(by_partition, now).await?;
            drop(settling);
            events = Vec::with_capacity(in_flight.len());
            for (pending, mut settled) in in_flight {
                // The other copy's claim is settled when its sender is dropped.
                let _ = settled.changed().await;
                events.push(pending);
            }
        }
        Ok(())
    }

    /// Resolves the event's profile (in the order events arrive, which is
    /// the order the graph sees them) and encodes its record.
    fn route(&self, source: &Source, mut pending: Pending) -> Result<(u16, Routed), CollectError> {
        let (profile, stamp) = match &pending.profile {
            Some(profile) => (profile.clone(), Vec::new()),
            None => {
                let event = &pending.event;
                let asked = filing::identifiers([&event.user_id, &event.anonymous_id]);
                let ids = [event.user_id.as_str(), event.anonymous_id.as_str()];
                let resolved = self.identity.resolve(&event.json, ids, asked.each_ref())?;
                pending.leads = resolved.leads;
                (resolved.profile, resolved.stamp)
            }
        };
        let key = if profile.is_empty() {
            self.fallback_key.profile_key(&pending.event)
        } else {
            profile.as_str()
        };
        let partition = self.log.partition_for(key.as_bytes());
        let event = &pending.event;
        let payload = StoredEvent {
            received_at: event.received_at,
            timestamp: event.timestamp,
            dedup_key: pending.dedup_key,
            source_id: &source.id,
            user_id: &event.user_id,
            anonymous_id: &event.anonymous_id,
            profile_id: &profile,
            stamp: &stamp,
            json: &event.json,
        }
        .encode();
        // From here on `profile` is what was resolved, for the index.
        pending.profile = Some(profile);
        Ok((partition, Routed { pending, payload }))
    }

    async fn append(
        &self,
        by_partition: BTreeMap<u16, Vec<Routed>>,
        now: i64,
    ) -> Result<usize, CollectError> {
        let listener = self.listener.get();
        // Queue every partition's records first so their fsyncs overlap.
        let mut appends = Vec::new();
        for (partition, routed) in by_partition {
            let (pending, payloads): (Vec<Pending>, Vec<Vec<u8>>) =
                routed.into_iter().map(|r| (r.pending, r.payload)).unzip();
            appends.push((self.log.append(partition, payloads), pending));
        }
        let mut stored = 0;
        let mut failure = None;
        for (append, pending) in appends {
            match append.await {
                Ok(receipt) => {
                    self.index_all(&pending, &receipt.locations);
                    // Indexed first, then committed: once a copy counts as a
                    // duplicate, the stored event can be read back.
                    for p in &pending {
                        self.dedup.commit(p.dedup_key, now);
                    }
                    stored += pending.len();
                    if let Some(listener) = listener {
                        listener.appended(
                            receipt
                                .locations
                                .iter()
                                .zip(receipt.payloads)
                                .map(|(location, payload)| AppendedRecord {
                                    location: *location,
                                    payload,
                                })
                                .collect(),
                        );
                    }
                }
                Err(e) => {
                    // Not stored, so a retry must not be taken for a duplicate.
                    self.identity.not_appended();
                    for p in &pending {
                        self.dedup.release(p.dedup_key);
                    }
                    failure = Some(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(stored),
        }
    }

    fn index_all(&self, pending: &[Pending], locations: &[RecordLocation]) {
        let mut entries = Vec::with_capacity(pending.len());
        {
            let mut graph = self.identity.graph();
            for (p, location) in pending.iter().zip(locations) {
                let indexed = IndexedEvent {
                    location: *location,
                    timestamp: p.event.timestamp,
                };
                let ids = [
                    p.event.user_id.as_str(),
                    p.event.anonymous_id.as_str(),
                    p.profile.as_deref().unwrap_or_default(),
                ];
                filing::file(&mut graph, ids, p.leads, indexed, &mut entries);
            }
        }
        self.index.add_all(entries, locations);
    }
}
