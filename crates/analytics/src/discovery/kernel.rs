//! Every person's journey folded into one directly-follows graph: node and
//! edge counts, the gaps along each edge, and whole journeys as variants.
//!
//! Nodes are numbered per kernel in the order first met, so that counts are
//! plain vectors and journeys short slices of `u32`; hashing whole journeys
//! of 64-bit nodes was the largest cost of a map at 10M events. Merging two
//! kernels renumbers the other's nodes.

use foldhash::HashMap;

use crate::runs::{Kernel, Visit};
use crate::summary::Gaps;

/// A node's number within one kernel.
pub type NodeIndex = u32;

/// What the kernel needs of the query.
#[derive(Debug, Clone)]
pub struct DiscoveryPlan {
    pub by_channel: bool,
    /// Per activity code, whether it is kept; `None` keeps every activity.
    /// Codes past the end (activities first met during the scan) are not.
    pub kept: Option<Vec<bool>>,
}

impl DiscoveryPlan {
    fn keeps(&self, activity: u32) -> bool {
        self.kept
            .as_ref()
            .is_none_or(|kept| kept.get(activity as usize).copied().unwrap_or(false))
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

/// The nodes met so far: (channel code, activity code) and their counts.
#[derive(Debug, Default)]
pub struct Nodes {
    /// By channel code, then activity code: the node's index plus one (0 for
    /// a node not met yet). The codebooks are dense, so this stays small.
    index: Vec<Vec<u32>>,
    /// By index: the channel and activity codes.
    pub codes: Vec<(u32, u32)>,
    pub counts: Vec<NodeCounts>,
    /// By index: the last person (numbered from 1) who had the node.
    last_person: Vec<u64>,
}

impl Nodes {
    fn index_of(&mut self, channel: u32, activity: u32) -> NodeIndex {
        let (c, a) = (channel as usize, activity as usize);
        if self.index.len() <= c {
            self.index.resize_with(c + 1, Vec::new);
        }
        if self.index[c].len() <= a {
            self.index[c].resize(a + 1, 0);
        }
        if self.index[c][a] == 0 {
            self.codes.push((channel, activity));
            self.counts.push(NodeCounts::default());
            self.last_person.push(0);
            self.index[c][a] = self.codes.len() as u32;
        }
        self.index[c][a] - 1
    }
}

#[derive(Debug)]
pub struct DiscoveryKernel<'a> {
    plan: &'a DiscoveryPlan,
    /// People with at least one kept event.
    pub people: u64,
    pub nodes: Nodes,
    /// Every gap (ms) from an event to the next one of the same person, by
    /// the pair of node indexes (`from << 32 | to`): kept whole so that
    /// medians are exact.
    pub edges: HashMap<u64, Gaps>,
    /// People per whole journey, each distinct journey stored once.
    pub variants: HashMap<Box<[NodeIndex]>, u64>,
    journey: Vec<NodeIndex>,
    times: Vec<i64>,
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
            nodes: Nodes::default(),
            edges: HashMap::default(),
            variants: HashMap::default(),
            journey: Vec::new(),
            times: Vec::new(),
        }
    }

    /// Fills `journey` and `times` with the person's kept events, counting
    /// each node's occurrences and people on the way.
    fn read_journey(&mut self, visits: &[Visit]) {
        self.journey.clear();
        self.times.clear();
        let plan = self.plan;
        let person = self.people + 1;
        for visit in visits.iter().filter(|v| plan.keeps(v.activity)) {
            let channel = if plan.by_channel { visit.channel } else { 0 };
            let i = self.nodes.index_of(channel, visit.activity);
            let counts = &mut self.nodes.counts[i as usize];
            counts.occurrences += 1;
            if self.nodes.last_person[i as usize] != person {
                self.nodes.last_person[i as usize] = person;
                counts.people += 1;
            }
            self.journey.push(i);
            self.times.push(visit.time);
        }
    }

    fn count_edges(&mut self) {
        for (pair, time) in self.journey.windows(2).zip(self.times.windows(2)) {
            self.edges
                .entry(edge_key(pair[0], pair[1]))
                .or_default()
                .push(time[1] - time[0]);
        }
    }

    fn count_variant(&mut self) {
        // Looked up by slice, so only a journey not seen before is copied.
        match self.variants.get_mut(self.journey.as_slice()) {
            Some(people) => *people += 1,
            None => {
                self.variants.insert(self.journey.as_slice().into(), 1);
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
        self.nodes.counts[first as usize].starts += 1;
        self.nodes.counts[last as usize].ends += 1;
        self.count_edges();
        self.count_variant();
    }

    fn merge(&mut self, other: Self) {
        self.people += other.people;
        let renumbered: Vec<NodeIndex> = other
            .nodes
            .codes
            .iter()
            .zip(&other.nodes.counts)
            .map(|(&(channel, activity), counts)| {
                let i = self.nodes.index_of(channel, activity);
                self.nodes.counts[i as usize].add(counts);
                i
            })
            .collect();
        for (key, gaps) in other.edges {
            let (from, to) = edge_ends(key);
            let key = edge_key(renumbered[from as usize], renumbered[to as usize]);
            self.edges.entry(key).or_default().extend(gaps);
        }
        for (journey, people) in other.variants {
            let journey: Box<[NodeIndex]> =
                journey.iter().map(|&i| renumbered[i as usize]).collect();
            *self.variants.entry(journey).or_default() += people;
        }
    }
}
