//! Every person's journey folded into one directly-follows graph: node and
//! edge counts, the gaps along each edge, and whole journeys as variants.

use foldhash::HashMap;

use crate::runs::{Kernel, Visit};

/// A node of the graph: the channel code in the high half (0 unless the
/// graph is by channel), the activity code in the low half.
pub type Node = u64;

pub fn node(channel: u32, activity: u32) -> Node {
    (u64::from(channel) << 32) | u64::from(activity)
}

/// The channel and activity codes of a node.
pub fn parts(node: Node) -> (u32, u32) {
    ((node >> 32) as u32, node as u32)
}

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

#[derive(Debug)]
pub struct DiscoveryKernel<'a> {
    plan: &'a DiscoveryPlan,
    /// People with at least one kept event.
    pub people: u64,
    pub nodes: HashMap<Node, NodeCounts>,
    /// Every gap (ms) from an event to the next one of the same person, by
    /// the pair of nodes: kept whole so that medians are exact.
    pub edges: HashMap<(Node, Node), Vec<i64>>,
    /// People per whole journey, each distinct journey stored once.
    pub variants: HashMap<Box<[Node]>, u64>,
    journey: Vec<Node>,
    times: Vec<i64>,
    distinct: Vec<Node>,
}

impl<'a> DiscoveryKernel<'a> {
    pub fn new(plan: &'a DiscoveryPlan) -> Self {
        DiscoveryKernel {
            plan,
            people: 0,
            nodes: HashMap::default(),
            edges: HashMap::default(),
            variants: HashMap::default(),
            journey: Vec::new(),
            times: Vec::new(),
            distinct: Vec::new(),
        }
    }

    /// Fills `journey` and `times` with the person's kept events.
    fn read_journey(&mut self, visits: &[Visit]) {
        self.journey.clear();
        self.times.clear();
        let plan = self.plan;
        for visit in visits.iter().filter(|v| plan.keeps(v.activity)) {
            let channel = if plan.by_channel { visit.channel } else { 0 };
            self.journey.push(node(channel, visit.activity));
            self.times.push(visit.time);
        }
    }

    fn count_nodes(&mut self) {
        for &n in &self.journey {
            self.nodes.entry(n).or_default().occurrences += 1;
        }
        self.distinct.clear();
        self.distinct.extend_from_slice(&self.journey);
        self.distinct.sort_unstable();
        self.distinct.dedup();
        for n in &self.distinct {
            self.nodes.entry(*n).or_default().people += 1;
        }
        if let (Some(first), Some(last)) = (self.journey.first(), self.journey.last()) {
            self.nodes.entry(*first).or_default().starts += 1;
            self.nodes.entry(*last).or_default().ends += 1;
        }
    }

    fn count_edges(&mut self) {
        for (pair, time) in self.journey.windows(2).zip(self.times.windows(2)) {
            self.edges
                .entry((pair[0], pair[1]))
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
        if self.journey.is_empty() {
            return;
        }
        self.people += 1;
        self.count_nodes();
        self.count_edges();
        self.count_variant();
    }

    fn merge(&mut self, other: Self) {
        self.people += other.people;
        for (n, counts) in other.nodes {
            self.nodes.entry(n).or_default().add(&counts);
        }
        for (pair, gaps) in other.edges {
            self.edges.entry(pair).or_default().extend(gaps);
        }
        for (journey, people) in other.variants {
            *self.variants.entry(journey).or_default() += people;
        }
    }
}
