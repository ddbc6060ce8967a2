//! Every person's journey folded into one directly-follows graph: node and
//! edge counts, the gaps along each edge, and whole journeys as variants.
//!
//! Nodes are numbered once for the whole scan (a few hundred at most), so
//! counts are plain vectors, journeys short slices of `u32`, and kernels
//! from different threads merge without renumbering. Nearly every person's
//! journey is a variant of its own at scale (2M variants for 2.5M people),
//! so variants are places in an arena rather than an allocation each, and
//! keep the hash of their journey: merging files entries by that hash
//! instead of hashing millions of journeys again.

use std::hash::BuildHasher;
use std::sync::Mutex;

use hashbrown::HashTable;

use super::arena::{JourneyArena, Place};
use crate::gaps::Gaps;
use crate::runs::{Kernel, Visit};

/// A node's number within one scan.
pub type NodeIndex = u32;

/// What the kernel needs of the query.
#[derive(Debug)]
pub struct DiscoveryPlan {
    pub by_channel: bool,
    /// Per activity code, whether it is kept; `None` keeps every activity.
    /// Codes past the end (activities first met during the scan) are not.
    pub kept: Option<Vec<bool>>,
    /// By node index: the channel and activity codes. Threads number the
    /// nodes they meet here; each keeps its own table of the numbers.
    pub nodes: Mutex<Vec<(u32, u32)>>,
}

impl DiscoveryPlan {
    fn keeps(&self, activity: u32) -> bool {
        self.kept
            .as_ref()
            .is_none_or(|kept| kept.get(activity as usize).copied().unwrap_or(false))
    }

    /// The scan's number for a node, given it one if it has none.
    fn number(&self, channel: u32, activity: u32) -> NodeIndex {
        let mut nodes = self.nodes.lock().expect("node numbers lock");
        match nodes.iter().position(|&n| n == (channel, activity)) {
            Some(i) => i as NodeIndex,
            None => {
                nodes.push((channel, activity));
                (nodes.len() - 1) as NodeIndex
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounts {
    pub occurrences: u64,
    pub people: u64,
    /// People whose journey starts here.
    pub starts: u64,
    /// People whose journey ends here.
    pub ends: u64,
}

impl NodeCounts {
    fn add(&mut self, other: &NodeCounts) {
        self.occurrences += other.occurrences;
        self.people += other.people;
        self.starts += other.starts;
        self.ends += other.ends;
    }
}

/// One distinct journey (its place in the kernel's `journeys`), the hash
/// it is filed under, and its people.
#[derive(Debug)]
pub struct Variant {
    hash: u64,
    pub place: Place,
    pub people: u64,
}

#[derive(Debug)]
pub struct DiscoveryKernel<'a> {
    plan: &'a DiscoveryPlan,
    /// People with at least one kept event.
    pub people: u64,
    /// By node index.
    pub counts: Vec<NodeCounts>,
    /// By channel code, then activity code: the node's index plus one (0
    /// when this kernel has not met it). The codebooks are dense.
    numbers: Vec<Vec<u32>>,
    /// By node index: the last person (numbered from 1) who had the node.
    last_person: Vec<u64>,
    /// Every gap (ms) from an event to the next one of the same person, by
    /// the pair of node indexes (`from << 32 | to`): kept whole so that
    /// medians are exact.
    pub edges: Vec<(u64, Gaps)>,
    /// By `from * side + to` node index: the edge's place in `edges` plus
    /// one (0 for none yet). Dense, as nodes are few: no hashing per event.
    edge_slots: Vec<u32>,
    /// Nodes per row of `edge_slots`.
    side: usize,
    pub variants: HashTable<Variant>,
    /// The variants' journeys.
    pub journeys: JourneyArena,
    hasher: foldhash::fast::FixedState,
    journey: Vec<NodeIndex>,
}

pub fn edge_key(from: NodeIndex, to: NodeIndex) -> u64 {
    (u64::from(from) << 32) | u64::from(to)
}

pub fn edge_ends(key: u64) -> (NodeIndex, NodeIndex) {
    ((key >> 32) as u32, key as u32)
}

impl<'a> DiscoveryKernel<'a> {
    pub fn new(plan: &'a DiscoveryPlan) -> Self {
        DiscoveryKernel {
            plan,
            people: 0,
            counts: Vec::new(),
            numbers: Vec::new(),
            last_person: Vec::new(),
            edges: Vec::new(),
            edge_slots: Vec::new(),
            side: 0,
            variants: HashTable::new(),
            journeys: JourneyArena::default(),
            // Fixed, so that every kernel files a journey under one hash.
            hasher: foldhash::fast::FixedState::with_seed(0x5eed),
            journey: Vec::new(),
        }
    }

    /// By node index, the channel and activity codes.
    pub fn node_codes(&self) -> Vec<(u32, u32)> {
        self.plan.nodes.lock().expect("node numbers lock").clone()
    }

    fn index_of(&mut self, channel: u32, activity: u32) -> NodeIndex {
        let (c, a) = (channel as usize, activity as usize);
        if self.numbers.len() <= c {
            self.numbers.resize_with(c + 1, Vec::new);
        }
        if self.numbers[c].len() <= a {
            self.numbers[c].resize(a + 1, 0);
        }
        if self.numbers[c][a] == 0 {
            let i = self.plan.number(channel, activity);
            self.numbers[c][a] = i + 1;
            self.grow_to(i as usize + 1);
        }
        self.numbers[c][a] - 1
    }

    fn grow_to(&mut self, nodes: usize) {
        if self.counts.len() < nodes {
            self.counts.resize(nodes, NodeCounts::default());
            self.last_person.resize(nodes, 0);
        }
    }

    /// Fills `journey` with the person's kept events, counting each node's
    /// occurrences and people and each edge's gaps on the way.
    fn read_journey(&mut self, visits: &[Visit]) {
        self.journey.clear();
        let plan = self.plan;
        let person = self.people + 1;
        let mut previous: Option<(NodeIndex, i64)> = None;
        for visit in visits.iter().filter(|v| plan.keeps(v.activity)) {
            let channel = if plan.by_channel { visit.channel } else { 0 };
            let i = self.index_of(channel, visit.activity);
            let counts = &mut self.counts[i as usize];
            counts.occurrences += 1;
            if self.last_person[i as usize] != person {
                self.last_person[i as usize] = person;
                counts.people += 1;
            }
            if let Some((from, at)) = previous {
                self.edge(from, i).push(visit.time - at);
            }
            previous = Some((i, visit.time));
            self.journey.push(i);
        }
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex) -> &mut Gaps {
        let (f, t) = (from as usize, to as usize);
        if f.max(t) >= self.side {
            self.widen(f.max(t) + 1);
        }
        let slot = &mut self.edge_slots[f * self.side + t];
        if *slot == 0 {
            self.edges.push((edge_key(from, to), Gaps::default()));
            *slot = self.edges.len() as u32;
        }
        let at = *slot as usize - 1;
        &mut self.edges[at].1
    }

    /// Makes room in `edge_slots` for `nodes` nodes.
    fn widen(&mut self, nodes: usize) {
        let side = nodes.max(self.side * 2).max(16);
        let mut slots = vec![0; side * side];
        for (f, row) in self.edge_slots.chunks(self.side.max(1)).enumerate() {
            slots[f * side..f * side + row.len()].copy_from_slice(row);
        }
        self.edge_slots = slots;
        self.side = side;
    }

    fn count_variant(&mut self) {
        let hash = self.hasher.hash_one(self.journey.as_slice());
        let (journey, journeys) = (self.journey.as_slice(), &self.journeys);
        match self
            .variants
            .find_mut(hash, |v| journeys.get(v.place) == journey)
        {
            Some(variant) => variant.people += 1,
            None => {
                let place = self.journeys.push(journey);
                let variant = Variant {
                    hash,
                    place,
                    people: 1,
                };
                self.variants.insert_unique(hash, variant, |v| v.hash);
            }
        }
    }
}

impl Kernel for DiscoveryKernel<'_> {
    fn person(&mut self, _key: u64, visits: &[Visit]) {
        self.read_journey(visits);
        // Someone with no kept event is not a case of the filtered log.
        let (Some(&first), Some(&last)) = (self.journey.first(), self.journey.last()) else {
            return;
        };
        self.people += 1;
        self.counts[first as usize].starts += 1;
        self.counts[last as usize].ends += 1;
        self.count_variant();
    }

    fn merge(&mut self, other: Self) {
        if self.people == 0 {
            // The first merge into an empty total: nothing to add up.
            *self = other;
            return;
        }
        self.people += other.people;
        self.grow_to(other.counts.len());
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            mine.add(theirs);
        }
        for (key, gaps) in other.edges {
            let (from, to) = edge_ends(key);
            self.edge(from, to).extend(gaps);
        }
        // The other's journeys stay where they are; a variant both have
        // leaves an unused copy behind, which costs less than copying.
        let moved = self.journeys.adopt(other.journeys);
        self.variants.reserve(other.variants.len(), |v| v.hash);
        let journeys = &self.journeys;
        for theirs in other.variants {
            let place = moved(theirs.place);
            let journey = journeys.get(place);
            match self
                .variants
                .find_mut(theirs.hash, |v| journeys.get(v.place) == journey)
            {
                Some(mine) => mine.people += theirs.people,
                None => {
                    let variant = Variant { place, ..theirs };
                    self.variants
                        .insert_unique(variant.hash, variant, |v| v.hash);
                }
            }
        }
    }
}
