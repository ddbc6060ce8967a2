//! The kernel's counts, named and put in a deterministic order.

use std::cmp::Ordering;

use hashbrown::HashTable;

use super::arena::JourneyArena;
use super::kernel::{edge_ends, DiscoveryKernel, NodeIndex, Variant};
use super::{DiscoveryQuery, DiscoveryReport, EdgeReport, NodeReport, VariantReport};
use crate::codebook::{Codebook, NONE};
use crate::gaps::Gaps;
use crate::summary::Durations;

/// Names every node of the graph once, by index, so that ordering and
/// reporting never go back to the (locked) codebooks.
fn node_names(
    kernel: &DiscoveryKernel<'_>,
    activities: &Codebook,
    channels: &Codebook,
) -> Vec<String> {
    kernel
        .node_codes()
        .into_iter()
        .map(|(channel, activity)| {
            let activity = activities.name(activity);
            match channel {
                NONE => activity,
                channel => format!("{} · {activity}", channels.name(channel)),
            }
        })
        .collect()
}

/// By node index, the node's place in the order of names: journeys are
/// compared by these instead of by their strings.
fn name_ranks(names: &[String]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut ranks = vec![0; names.len()];
    for (rank, i) in order.into_iter().enumerate() {
        ranks[i] = rank as u32;
    }
    ranks
}

pub(super) fn assemble(
    kernel: DiscoveryKernel<'_>,
    activities: &Codebook,
    channels: &Codebook,
    query: &DiscoveryQuery,
) -> DiscoveryReport {
    let names = node_names(&kernel, activities, channels);
    let name = |i: NodeIndex| names[i as usize].as_str();
    let people = kernel.people;

    let mut nodes: Vec<NodeReport> = kernel
        .counts
        .iter()
        .enumerate()
        .map(|(i, counts)| NodeReport {
            name: names[i].clone(),
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

    let (pairs, gaps): (Vec<u64>, Vec<Gaps>) = kernel
        .edges
        .into_iter()
        .filter(|(_, gaps)| gaps.len() as u64 >= query.min_count)
        .unzip();
    let mut edges: Vec<EdgeReport> = pairs
        .into_iter()
        .zip(summarise_in_parallel(gaps))
        .map(|(key, duration)| {
            let (from, to) = edge_ends(key);
            EdgeReport {
                from: name(from).to_owned(),
                to: name(to).to_owned(),
                count: duration.count,
                duration,
            }
        })
        .collect();
    edges.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });

    let distinct_variants = kernel.variants.len() as u64;
    let variants = top_variants(
        &kernel.variants,
        &kernel.journeys,
        &names,
        query.top_variants,
    );
    let variants = variants
        .into_iter()
        .map(|(journey, count)| VariantReport {
            activities: journey.iter().map(|&n| name(n).to_owned()).collect(),
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

/// Each edge's durations, the edges shared among threads in turn (the
/// busiest edges hold most of the gaps, so dealing them out evens the work).
fn summarise_in_parallel(gaps: Vec<Gaps>) -> Vec<Durations> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut hands: Vec<Vec<(usize, Gaps)>> = (0..threads).map(|_| Vec::new()).collect();
    let mut order: Vec<(usize, Gaps)> = gaps.into_iter().enumerate().collect();
    order.sort_by_key(|(_, g)| std::cmp::Reverse(g.len()));
    for (turn, item) in order.into_iter().enumerate() {
        hands[turn % threads].push(item);
    }
    let mut out = vec![Durations::default(); hands.iter().map(Vec::len).sum()];
    let done: Vec<Vec<(usize, Durations)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = hands
            .into_iter()
            .map(|hand| {
                scope.spawn(move || {
                    hand.into_iter()
                        .map(|(i, g)| (i, g.durations()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a summary thread panicked"))
            .collect()
    });
    for (i, d) in done.into_iter().flatten() {
        out[i] = d;
    }
    out
}

/// The `n` most common journeys and their people, most common first; ties
/// are broken by the names along the journey (node indexes depend on which
/// thread met a node first).
fn top_variants<'k>(
    variants: &HashTable<Variant>,
    journeys: &'k JourneyArena,
    names: &[String],
    n: usize,
) -> Vec<(&'k [NodeIndex], u64)> {
    // The n-th largest count first, on counts alone: at scale most
    // variants have one person, and tie-breaking them all by name would
    // cost more than the rest of the report.
    let mut counts: Vec<u64> = variants.iter().map(|v| v.people).collect();
    let threshold = match n {
        0 => return Vec::new(),
        n if n < counts.len() => *counts.select_nth_unstable_by(n - 1, |a, b| b.cmp(a)).1,
        _ => 0,
    };
    drop(counts);
    let mut candidates: Vec<(&[NodeIndex], u64)> = variants
        .iter()
        .filter(|v| v.people >= threshold)
        .map(|v| (journeys.get(v.place), v.people))
        .collect();
    let ranks = name_ranks(names);
    let rank = |i: &NodeIndex| ranks[*i as usize];
    let order = |a: &(&[NodeIndex], u64), b: &(&[NodeIndex], u64)| -> Ordering {
        b.1.cmp(&a.1)
            .then_with(|| a.0.iter().map(rank).cmp(b.0.iter().map(rank)))
    };
    keep_first(&mut candidates, n, order);
    candidates
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
