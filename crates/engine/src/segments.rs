//! Who is in each segment, and every recorded change, as read back from the
//! `Segment Entered` / `Segment Exited` events in the log. Both live in the
//! state store (`segment ‖ 0 ‖ profile` for members, `segment ‖ 0 ‖
//! sequence` for the history); only the counts are kept in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use percorso_store::Table;

use serde::{Deserialize, Serialize};

use crate::buffered::{joined, BufferedTable};
use crate::checkpoint_writer::Changes;

/// One recorded change of membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChange {
    pub profile_id: String,
    pub entered: bool,
    pub at: i64,
}

/// Per segment: members, changes recorded, and the next change's number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentCounts {
    pub members: u64,
    pub changes: u64,
    pub next_change: u64,
}

#[derive(Debug, Default)]
pub struct SegmentMembers {
    members: BufferedTable,
    history: BufferedTable,
    counts: BTreeMap<String, SegmentCounts>,
}

/// Scans page through a segment this many entries at a time.
const SCAN: usize = 4_096;

impl SegmentMembers {
    pub(crate) fn new(
        members: BufferedTable,
        history: BufferedTable,
        counts: BTreeMap<String, SegmentCounts>,
    ) -> Self {
        Self {
            members,
            history,
            counts,
        }
    }

    /// Records a change; `was_member` is the profile's recorded
    /// membership before it (kept on the profile, so no read here).
    pub fn record(&mut self, segment: &str, change: MembershipChange, was_member: bool) {
        let key = joined(segment, change.profile_id.as_bytes());
        // Looked up before inserting: a change per few events would
        // otherwise copy the segment's name each time.
        if !self.counts.contains_key(segment) {
            self.counts
                .insert(segment.to_owned(), SegmentCounts::default());
        }
        let Some(counts) = self.counts.get_mut(segment) else {
            return;
        };
        if change.entered && !was_member {
            self.members.put(key, Vec::new());
            counts.members += 1;
        } else if !change.entered && was_member {
            self.members.delete(&key);
            counts.members -= 1;
        }
        let sequence = counts.next_change;
        counts.next_change += 1;
        counts.changes += 1;
        // Sized for a typical change: grown from empty, it was reallocated
        // a few times per change.
        let mut value = Vec::with_capacity(16 + change.profile_id.len());
        // Encoding into a vector cannot fail.
        let _ = rmp_serde::encode::write(&mut value, &change);
        self.history
            .put(joined(segment, &sequence.to_be_bytes()), value);
    }

    /// A profile merged away (or erased) leaves every segment silently:
    /// it no longer exists to be addressed.
    pub fn forget(&mut self, profile: &str) {
        for (segment, counts) in &mut self.counts {
            let key = joined(segment, profile.as_bytes());
            if self.members.get(&key).is_some() {
                self.members.delete(&key);
                counts.members -= 1;
            }
        }
    }

    /// An erased person leaves no trace: not a member, not in any history.
    pub fn erase(&mut self, profiles: &[String]) {
        for profile in profiles {
            self.forget(profile);
        }
        let segments: Vec<String> = self.counts.keys().cloned().collect();
        for segment in segments {
            let prefix = joined(&segment, b"");
            let mut gone = 0;
            let mut start = prefix.to_vec();
            loop {
                let page = self.history.scan(&prefix, &start, SCAN);
                for (key, value) in &page {
                    let change: Option<MembershipChange> = rmp_serde::from_slice(value).ok();
                    if change.is_some_and(|c| profiles.contains(&c.profile_id)) {
                        self.history.delete(key);
                        gone += 1;
                    }
                }
                match page.last() {
                    Some((last, _)) if page.len() == SCAN => start = after(last),
                    _ => break,
                }
            }
            if let Some(counts) = self.counts.get_mut(&segment) {
                counts.changes -= gone;
            }
        }
    }

    pub fn count(&self, segment: &str) -> usize {
        self.counts
            .get(segment)
            .map_or(0, |c| usize::try_from(c.members).unwrap_or(usize::MAX))
    }

    /// Members in id order, starting after `after`.
    pub fn page(&self, segment: &str, after_id: Option<&str>, limit: usize) -> Vec<String> {
        let prefix = joined(segment, b"");
        let start = after_id.map_or_else(
            || prefix.to_vec(),
            |id| after(&joined(segment, id.as_bytes())),
        );
        self.members
            .scan(&prefix, &start, limit)
            .into_iter()
            .filter_map(|(key, _)| String::from_utf8(key[prefix.len()..].to_vec()).ok())
            .collect()
    }

    /// Changes in the order they were read from the log, from `offset`.
    pub fn history(
        &self,
        segment: &str,
        offset: usize,
        limit: usize,
    ) -> (Vec<MembershipChange>, usize) {
        let total = self
            .counts
            .get(segment)
            .map_or(0, |c| usize::try_from(c.changes).unwrap_or(usize::MAX));
        let prefix = joined(segment, b"");
        let mut page: Vec<MembershipChange> = self
            .history
            .scan(&prefix, &prefix, offset.saturating_add(limit))
            .into_iter()
            .skip(offset)
            .filter_map(|(_, value)| rmp_serde::from_slice(&value).ok())
            .collect();
        page.sort_by_key(|c| c.at);
        (page, total)
    }

    pub fn remove_segment(&mut self, segment: &str) {
        let prefix = joined(segment, b"");
        for table in [&mut self.members, &mut self.history] {
            loop {
                let page = table.scan(&prefix, &prefix, SCAN);
                for (key, _) in &page {
                    table.delete(key);
                }
                if page.len() < SCAN {
                    break;
                }
            }
        }
        self.counts.remove(segment);
    }

    pub(crate) fn counts(&self) -> &BTreeMap<String, SegmentCounts> {
        &self.counts
    }

    pub(crate) fn take(&mut self) -> impl Iterator<Item = (Table, Arc<Changes>)> {
        [self.members.take(), self.history.take()]
            .into_iter()
            .flatten()
    }

    pub(crate) fn committed(&mut self) -> [Arc<Changes>; 2] {
        [self.members.committed(), self.history.committed()]
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.members.pending_len() + self.history.pending_len()
    }
}

/// The smallest key after `key`.
fn after(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}
