//! One person's funnel: how far they got, with the same rules as
//! ClickHouse's `windowFunnel(window, mode)(timestamp, cond1, ..., condN)`.
//!
//! The person's step events are taken in (time, step) order. An event of
//! step 1 starts a chain (replacing the previous start); an event of step
//! k extends the chain that reached step k-1 if it comes within `window`
//! of that chain's start (inclusive). The level is the highest step any
//! chain reached. Modes change this as ClickHouse's do:
//! * `strict_order`: after the first step-1 event, an event that matches
//!   no step, or a step whose previous step has not been reached, ends the
//!   search;
//! * `strict_deduplication`: a step reached again (other than step 1) ends
//!   the search, at the furthest level reached so far;
//! * `strict_increase`: a step must come strictly later than the previous;
//! * `unordered` (PostHog's): the most distinct steps seen within `window`
//!   of any one step event, in any order.

use serde::{Deserialize, Serialize};

/// Steps a funnel may have (ClickHouse's `windowFunnel` allows 32).
pub const MAX_STEPS: usize = 32;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelMode {
    #[default]
    Default,
    StrictOrder,
    StrictDeduplication,
    StrictIncrease,
    Unordered,
}

impl FunnelMode {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(text.replace('-', "_"))).map_err(|_| {
            format!("unknown funnel mode '{text}': expected default, strict_order, strict_deduplication, strict_increase or unordered")
        })
    }
}

/// One event of the person that matches steps: `step` is 1-based, 0 for an
/// event that matches none (kept only in strict order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub time: i64,
    pub step: u8,
    /// Index of the event among the person's events.
    pub visit: u32,
}

/// The chain that reached a level: the time of each step and the event
/// that started it.
#[derive(Debug, Clone, Copy)]
pub struct Chain {
    pub level: usize,
    pub times: [i64; MAX_STEPS],
    pub origin: u32,
}

/// A person's events, `(time, condition mask)` in time order, as the
/// entries [`reach`] takes: one per step an event matches (bit k − 1 for
/// step k), plus, in strict order, one of step 0 for an event that matches
/// none. Sorted by (time, step) as ClickHouse sorts them: at equal times an
/// event matching nothing comes before the steps.
pub fn entries_of(
    events: impl Iterator<Item = (i64, u64)>,
    steps: usize,
    strict_order: bool,
    out: &mut Vec<Entry>,
) {
    let step_bits = if steps >= 64 {
        u64::MAX
    } else {
        (1u64 << steps) - 1
    };
    out.clear();
    let mut ordered = true;
    for (i, (time, mask)) in events.enumerate() {
        let mut bits = mask & step_bits;
        if bits == 0 && !strict_order {
            continue;
        }
        let mut step = 0;
        loop {
            if bits != 0 {
                step = bits.trailing_zeros() as u8 + 1;
                bits &= bits - 1;
            }
            let entry = Entry {
                time,
                step,
                visit: i as u32,
            };
            if let Some(last) = out.last() {
                ordered &= (last.time, last.step) <= (entry.time, entry.step);
            }
            out.push(entry);
            if bits == 0 {
                break;
            }
        }
    }
    if !ordered {
        out.sort_by_key(|e| (e.time, e.step));
    }
}

#[derive(Clone, Copy)]
struct Link {
    times: [i64; MAX_STEPS],
    origin: u32,
}

/// The level reached by the entries (sorted by time then step), and the
/// chain that reached it when there is one.
pub fn reach(entries: &[Entry], steps: usize, window: i64, mode: FunnelMode) -> Option<Chain> {
    if entries.is_empty() || steps == 0 {
        return None;
    }
    if mode == FunnelMode::Unordered {
        return reach_unordered(entries, steps, window);
    }
    let strict_order = mode == FunnelMode::StrictOrder;
    let mut links: [Option<Link>; MAX_STEPS] = [None; MAX_STEPS];
    let chain_at = |links: &[Option<Link>; MAX_STEPS], level: usize| -> Option<Chain> {
        let link = links[level.checked_sub(1)?]?;
        Some(Chain {
            level,
            times: link.times,
            origin: link.origin,
        })
    };
    let mut started = false;
    for entry in entries {
        let step = entry.step as usize;
        if step == 0 {
            if strict_order && started {
                break;
            }
            continue;
        }
        let k = step - 1;
        if k == 0 {
            let mut times = [0; MAX_STEPS];
            times[0] = entry.time;
            links[0] = Some(Link {
                times,
                origin: entry.visit,
            });
            started = true;
        } else if mode == FunnelMode::StrictDeduplication && links[k].is_some() {
            // A step reached again ends the search at the furthest level
            // (ClickHouse 26 answers 2 for A B A B C, not 1 or 3).
            break;
        } else if strict_order && started && links[k - 1].is_none() {
            let level = links
                .iter()
                .take(steps)
                .position(Option::is_none)
                .unwrap_or(steps);
            return chain_at(&links, level);
        } else if let Some(previous) = links[k - 1] {
            let first = previous.times[0];
            let mut matched = entry.time <= first.saturating_add(window);
            if mode == FunnelMode::StrictIncrease {
                matched &= previous.times[k - 1] < entry.time;
            }
            if matched {
                let mut link = previous;
                link.times[k] = entry.time;
                links[k] = Some(link);
                if step == steps {
                    return chain_at(&links, steps);
                }
            }
        }
    }
    let level = (1..=steps).rev().find(|&l| links[l - 1].is_some())?;
    chain_at(&links, level)
}

/// PostHog's unordered funnel: the most distinct steps within `window` of
/// a step event. Step times are given in the order the steps were first
/// seen in the best window.
fn reach_unordered(entries: &[Entry], steps: usize, window: i64) -> Option<Chain> {
    let mut best: Option<Chain> = None;
    for (i, start) in entries.iter().enumerate() {
        if start.step == 0 {
            continue;
        }
        let mut seen = [false; MAX_STEPS];
        let mut times = [0; MAX_STEPS];
        let mut level = 0;
        for entry in &entries[i..] {
            if entry.time > start.time.saturating_add(window) {
                break;
            }
            let k = entry.step as usize;
            if k == 0 || seen[k - 1] {
                continue;
            }
            seen[k - 1] = true;
            times[level] = entry.time;
            level += 1;
        }
        if best.is_none_or(|b| level > b.level) {
            best = Some(Chain {
                level,
                times,
                origin: start.visit,
            });
        }
        if level == steps {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(i64, u8)]) -> Vec<Entry> {
        let mut out: Vec<Entry> = list
            .iter()
            .enumerate()
            .map(|(i, &(time, step))| Entry {
                time,
                step,
                visit: i as u32,
            })
            .collect();
        out.sort_by_key(|e| (e.time, e.step));
        out
    }

    fn level(list: &[(i64, u8)], steps: usize, mode: FunnelMode) -> usize {
        reach(&entries(list), steps, 10, mode).map_or(0, |c| c.level)
    }

    // Each expectation below was read off ClickHouse 26.9 (chdb) with the
    // same events and a window of 10.
    #[test]
    fn matches_clickhouse_on_the_edge_cases() {
        use FunnelMode::*;
        assert_eq!(level(&[(1, 1), (1, 2)], 2, Default), 2, "same time chains");
        assert_eq!(level(&[(1, 2), (1, 1)], 2, Default), 2, "ties sort by step");
        assert_eq!(
            level(&[(1, 1), (11, 2)], 2, Default),
            2,
            "window is inclusive"
        );
        assert_eq!(level(&[(1, 1), (12, 2)], 2, Default), 1);
        assert_eq!(level(&[(1, 1), (2, 0), (3, 2)], 2, StrictOrder), 1);
        assert_eq!(level(&[(0, 0), (1, 1), (3, 2)], 2, StrictOrder), 2);
        assert_eq!(level(&[(1, 1), (2, 3), (3, 2)], 3, StrictOrder), 1);
        assert_eq!(
            level(&[(1, 1), (2, 2), (3, 2), (4, 3)], 3, StrictDeduplication),
            2
        );
        assert_eq!(
            level(&[(1, 1), (2, 1), (3, 2), (4, 3)], 3, StrictDeduplication),
            3
        );
        assert_eq!(
            level(
                &[(1, 1), (2, 2), (3, 1), (4, 2), (5, 3)],
                3,
                StrictDeduplication
            ),
            2
        );
        assert_eq!(level(&[(1, 1), (1, 2)], 2, StrictIncrease), 1);
    }

    #[test]
    fn a_later_start_rescues_a_chain_the_window_broke() {
        let chain = reach(
            &entries(&[(0, 1), (8, 1), (15, 2)]),
            2,
            10,
            FunnelMode::Default,
        )
        .unwrap();
        assert_eq!(chain.level, 2);
        assert_eq!(&chain.times[..2], &[8, 15]);
    }

    #[test]
    fn unordered_counts_distinct_steps_in_a_window() {
        assert_eq!(
            level(&[(1, 3), (20, 1), (21, 2)], 3, FunnelMode::Unordered),
            2
        );
        assert_eq!(
            level(&[(1, 3), (2, 1), (3, 2)], 3, FunnelMode::Unordered),
            3
        );
    }
}
