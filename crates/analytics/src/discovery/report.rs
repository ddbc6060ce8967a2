//! The kernel's counts, named and put in a deterministic order.

use std::cmp::Ordering;

use foldhash::HashMap;

use super::kernel::{parts, DiscoveryKernel, Node};
use super::{DiscoveryQuery, DiscoveryReport, EdgeReport, NodeReport, VariantReport};
use crate::codebook::{Codebook, NONE};
use crate::summary::Durations;

/// Names every node of the graph once, so that ordering and reporting
/// never go back to the (locked) codebooks.
fn node_names(
    kernel: &DiscoveryKernel<'_>,
    activities: &Codebook,
    channels: &Codebook,
) -> HashMap<Node, String> {
    kernel
        .nodes
        .keys()
        .map(|&node| {
            let (channel, activity) = parts(node);
            let activity = activities.name(activity);
            let name = match channel {
                NONE => activity,
                channel => format!("{} · {activity}", channels.name(channel)),
            };
            (node, name)
        })
        .collect()
}

pub(super) fn assemble(
    kernel: DiscoveryKernel<'_>,
    activities: &Codebook,
    channels: &Codebook,
    query: &DiscoveryQuery,
) -> DiscoveryReport {
    let names = node_names(&kernel, activities, channels);
    let name = |node: &Node| names[node].as_str();
    let people = kernel.people;

    let mut nodes: Vec<NodeReport> = kernel
        .nodes
        .iter()
        .map(|(node, counts)| NodeReport {
            name: name(node).to_owned(),
            occurrences: counts.occurrences,
            people: counts.people,
            starts: counts.starts,
            ends: counts.ends,
        })
        .collect();
    nodes.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then_with(|| a.name.cmp(&b.name))
    });

    let mut edges: Vec<EdgeReport> = kernel
        .edges
        .into_iter()
        .filter(|(_, gaps)| gaps.len() as u64 >= query.min_count)
        .map(|((from, to), gaps)| EdgeReport {
            from: name(&from).to_owned(),
            to: name(&to).to_owned(),
            count: gaps.len() as u64,
            duration: Durations::of(gaps),
        })
        .collect();
    edges.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });

    let distinct_variants = kernel.variants.len() as u64;
    let mut variants: Vec<(Box<[Node]>, u64)> = kernel.variants.into_iter().collect();
    // Ties are broken by the names along the journey: codes depend on
    // which thread met an activity first.
    let order = |a: &(Box<[Node]>, u64), b: &(Box<[Node]>, u64)| -> Ordering {
        b.1.cmp(&a.1)
            .then_with(|| a.0.iter().map(name).cmp(b.0.iter().map(name)))
    };
    keep_first(&mut variants, query.top_variants, order);
    let variants = variants
        .into_iter()
        .map(|(journey, count)| VariantReport {
            activities: journey.iter().map(|n| name(n).to_owned()).collect(),
            people: count,
            share: count as f64 / people.max(1) as f64,
        })
        .collect();

    DiscoveryReport {
        people,
        nodes,
        edges,
        variants,
        distinct_variants,
    }
}

/// Leaves the first `n` items in `order`, sorted, without sorting them all:
/// there may be about as many distinct journeys as people.
fn keep_first<T>(items: &mut Vec<T>, n: usize, order: impl Fn(&T, &T) -> Ordering) {
    if n == 0 {
        items.clear();
        return;
    }
    if items.len() > n {
        items.select_nth_unstable_by(n - 1, &order);
        items.truncate(n);
    }
    items.sort_by(order);
}
