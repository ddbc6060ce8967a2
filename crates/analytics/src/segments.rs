//! Who is in a segment now, read from the store: the engine states every
//! entry and exit as a `Segment Entered` / `Segment Exited` event whose
//! properties name the segment and its generation. A person is a member
//! when their last change of the segment's latest generation (a segment
//! defined anew states its members again under the next one) is an entry.
//! The SQL view `segment_membership` is the same rule (a test checks that
//! the two agree); reports use this one to filter and split people.

use foldhash::HashSet;

use crate::codebook::Codebook;
use crate::error::AnalyticsError;
use crate::runs::{Kernel, Visit};
use crate::scan::scan;
use crate::source::{Needs, ScanContext};
use crate::store::Snapshot;
use crate::tagger::{Tag, Tagger};

pub const SEGMENT_ENTERED: &str = "Segment Entered";
pub const SEGMENT_EXITED: &str = "Segment Exited";

/// People (profile keys) in a segment.
pub type Members = HashSet<u64>;

const ENTERED: u64 = 1;
const EXITED: u64 = 2;

/// Tags the segment's changes: the mask says entry or exit, the group is
/// the generation plus one.
#[derive(Debug)]
struct ChangeTagger<'a> {
    segment: &'a str,
}

impl Tagger for ChangeTagger<'_> {
    fn activity(&self, name: &str) -> Tag {
        match name {
            SEGMENT_ENTERED | SEGMENT_EXITED => Tag::PerRow,
            _ => Tag::Fixed { mask: 0, group: 0 },
        }
    }

    fn row(&self, activity: &str, properties: Option<&str>) -> (u64, u32) {
        let Some(properties) =
            properties.and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        else {
            return (0, 0);
        };
        let generation = properties["generation"].as_u64();
        match (properties["segment"].as_str(), generation) {
            (Some(segment), Some(generation)) if segment == self.segment => {
                let mask = if activity == SEGMENT_ENTERED {
                    ENTERED
                } else {
                    EXITED
                };
                (mask, u32::try_from(generation + 1).unwrap_or(u32::MAX))
            }
            _ => (0, 0),
        }
    }

    fn wants_properties(&self) -> bool {
        true
    }
}

/// Per person, the generation and kind of their last change.
#[derive(Debug, Default)]
struct ChangeKernel {
    last: Vec<(u64, u32, bool)>,
}

impl Kernel for ChangeKernel {
    fn person(&mut self, key: u64, visits: &[Visit]) {
        // Visits come in (time, arrival) order, and the engine appends a
        // person's changes in the order it makes them.
        if let Some(last) = visits.iter().rev().find(|v| v.mask != 0) {
            self.last.push((key, last.group, last.mask == ENTERED));
        }
    }

    fn merge(&mut self, other: Self) {
        self.last.extend(other.last);
    }
}

/// The members of `segment` now, by profile key (after merges).
pub fn segment_members(snapshot: &Snapshot, segment: &str) -> Result<Members, AnalyticsError> {
    let (activities, channels) = (Codebook::default(), Codebook::default());
    let tagger = ChangeTagger { segment };
    let context = ScanContext {
        activities: &activities,
        channels: &channels,
        tagger: &tagger,
        needs: Needs {
            properties: true,
            only_tagged: true,
            ..Needs::default()
        },
        time: i64::MIN..i64::MAX,
        people: None,
    };
    let kernel = scan(snapshot, &context, ChangeKernel::default)?;
    let latest = kernel.last.iter().map(|&(_, g, _)| g).max().unwrap_or(0);
    Ok(kernel
        .last
        .into_iter()
        .filter(|&(_, generation, entered)| generation == latest && entered)
        .map(|(key, _, _)| key)
        .collect())
}

/// People split by whether they are in a segment now: the breakdown
/// `segment:<name>`, whose values are the name and `not in <name>`.
#[derive(Debug, Clone)]
pub struct SegmentSplit {
    members: Members,
    inside: u32,
    outside: u32,
}

impl SegmentSplit {
    /// The split by `segment`, its two values given codes in `groups`.
    pub fn new(
        snapshot: &Snapshot,
        segment: &str,
        groups: &Codebook,
    ) -> Result<Self, AnalyticsError> {
        Ok(SegmentSplit {
            members: segment_members(snapshot, segment)?,
            inside: groups.code(segment),
            outside: groups.code(&format!("not in {segment}")),
        })
    }

    /// The group code of the person with this key (after merges).
    pub fn group(&self, key: u64) -> u32 {
        if self.members.contains(&key) {
            self.inside
        } else {
            self.outside
        }
    }
}
