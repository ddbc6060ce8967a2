//! Who is in each segment, and every recorded change, as read back from the
//! `Segment Entered` / `Segment Exited` events in the log.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// One recorded change of membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MembershipChange {
    pub profile_id: String,
    pub entered: bool,
    pub at: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentMembers {
    members: BTreeMap<String, BTreeSet<String>>,
    history: BTreeMap<String, Vec<MembershipChange>>,
}

impl SegmentMembers {
    pub fn record(&mut self, segment: &str, change: MembershipChange) {
        let members = self.members.entry(segment.to_owned()).or_default();
        if change.entered {
            members.insert(change.profile_id.clone());
        } else {
            members.remove(&change.profile_id);
        }
        self.history
            .entry(segment.to_owned())
            .or_default()
            .push(change);
    }

    /// A profile merged away (or erased) leaves every segment silently:
    /// it no longer exists to be addressed.
    pub fn forget(&mut self, profile: &str) {
        for members in self.members.values_mut() {
            members.remove(profile);
        }
    }

    /// An erased person leaves no trace: not a member, not in any history.
    pub fn erase(&mut self, profiles: &[String]) {
        for profile in profiles {
            self.forget(profile);
        }
        for changes in self.history.values_mut() {
            changes.retain(|c| !profiles.contains(&c.profile_id));
        }
    }

    pub fn count(&self, segment: &str) -> usize {
        self.members.get(segment).map_or(0, BTreeSet::len)
    }

    /// Members in id order, starting after `after`.
    pub fn page(&self, segment: &str, after: Option<&str>, limit: usize) -> Vec<String> {
        let Some(members) = self.members.get(segment) else {
            return Vec::new();
        };
        let range = match after {
            Some(after) => members
                .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => members.range::<str, _>(..),
        };
        range.take(limit).cloned().collect()
    }

    /// Changes in the order they were read from the log, from `offset`.
    pub fn history(
        &self,
        segment: &str,
        offset: usize,
        limit: usize,
    ) -> (Vec<MembershipChange>, usize) {
        let all = self.history.get(segment).map_or(&[][..], Vec::as_slice);
        let mut page: Vec<MembershipChange> =
            all.iter().skip(offset).take(limit).cloned().collect();
        page.sort_by_key(|c| c.at);
        (page, all.len())
    }

    pub fn remove_segment(&mut self, segment: &str) {
        self.members.remove(segment);
        self.history.remove(segment);
    }
}
