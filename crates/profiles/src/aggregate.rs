//! Partial aggregates: mergeable summaries of some matching events.
//!
//! One is kept per profile, computed trait and day, so their size is the
//! engine's memory: a partial holds only what its aggregation reads, and
//! the rarer, larger kinds (first/last values, distinct sets) are boxed so
//! that the common ones (count, sum, min, max, average) stay 48 bytes.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::Aggregation;

/// A value with the event time and application order it came with; the
/// order breaks ties between events of the same millisecond.
type Stamped = (i64, u64, Value);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Partial {
    events: u64,
    kept: Kept,
}

/// What an aggregation needs beyond the event count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
enum Kept {
    /// Counts, or no matching event carried a usable value yet.
    #[default]
    Nothing,
    Numbers(Numbers),
    /// `[first, last]`.
    Stamped(Box<[Stamped; 2]>),
    /// Hashes of the values' JSON text: 1 and "1" differ.
    #[allow(
        clippy::box_collection,
        reason = "a set inline would make every partial 16 bytes larger"
    )]
    Distinct(Box<HashSet<u64>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Numbers {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Numbers {
    fn merge(&mut self, other: &Numbers) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Takes `(timestamp, order, value)` as first and/or last of `pair` when
/// it is earlier or later; the value is copied only then.
fn offer(pair: &mut [Stamped; 2], timestamp: i64, order: u64, value: &Value) {
    if (timestamp, order) < (pair[0].0, pair[0].1) {
        pair[0] = (timestamp, order, value.clone());
    }
    if (pair[1].0, pair[1].1) < (timestamp, order) {
        pair[1] = (timestamp, order, value.clone());
    }
}

impl Partial {
    /// Adds one matching event. Only what `aggregation` reads is kept: a
    /// sum need not remember every distinct value, nor a count any value.
    /// Runs for every matching event, so it updates in place and
    /// allocates only for a partial's first value.
    pub(crate) fn add(
        &mut self,
        aggregation: Aggregation,
        timestamp: i64,
        order: u64,
        value: Option<&Value>,
    ) {
        self.events += 1;
        let Some(value) = value else { return };
        match aggregation {
            Aggregation::Count => {}
            Aggregation::Sum | Aggregation::Min | Aggregation::Max | Aggregation::Average => {
                if let Some(n) = value.as_f64() {
                    self.keep(&Kept::Numbers(Numbers {
                        count: 1,
                        sum: n,
                        min: n,
                        max: n,
                    }));
                }
            }
            Aggregation::First | Aggregation::Last => match &mut self.kept {
                Kept::Stamped(pair) => offer(pair, timestamp, order, value),
                kept => {
                    let stamped = (timestamp, order, value.clone());
                    *kept = Kept::Stamped(Box::new([stamped.clone(), stamped]));
                }
            },
            Aggregation::DistinctCount => {
                let hash = xxhash_rust::xxh3::xxh3_64(value.to_string().as_bytes());
                match &mut self.kept {
                    Kept::Distinct(set) => {
                        set.insert(hash);
                    }
                    kept => *kept = Kept::Distinct(Box::new(HashSet::from([hash]))),
                }
            }
        }
    }

    pub(crate) fn merge(&mut self, other: &Partial) {
        self.events += other.events;
        self.keep(&other.kept);
    }

    fn keep(&mut self, other: &Kept) {
        match (&mut self.kept, other) {
            (_, Kept::Nothing) => {}
            (Kept::Numbers(mine), Kept::Numbers(theirs)) => mine.merge(theirs),
            (Kept::Stamped(mine), Kept::Stamped(theirs)) => {
                for (timestamp, order, value) in theirs.iter() {
                    offer(mine, *timestamp, *order, value);
                }
            }
            (Kept::Distinct(mine), Kept::Distinct(theirs)) => mine.extend(theirs.iter()),
            // One definition always keeps one kind, so this is the first value.
            (mine, theirs) => *mine = theirs.clone(),
        }
    }

    pub(crate) fn value(&self, aggregation: Aggregation) -> Value {
        let number = |n: f64| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
        let numbers = match &self.kept {
            Kept::Numbers(numbers) => Some(numbers),
            _ => None,
        };
        let stamped = |i: usize| match &self.kept {
            Kept::Stamped(pair) => pair[i].2.clone(),
            _ => Value::Null,
        };
        match aggregation {
            Aggregation::Count => Value::from(self.events),
            Aggregation::Sum => number(numbers.map_or(0.0, |n| n.sum)),
            Aggregation::Min => numbers.map_or(Value::Null, |n| number(n.min)),
            Aggregation::Max => numbers.map_or(Value::Null, |n| number(n.max)),
            Aggregation::Average => numbers.map_or(Value::Null, |n| number(n.sum / n.count as f64)),
            Aggregation::First => stamped(0),
            Aggregation::Last => stamped(1),
            Aggregation::DistinctCount => Value::from(match &self.kept {
                Kept::Distinct(set) => set.len(),
                _ => 0,
            }),
        }
    }
}

/// The value of the partials merged, without building the merge: segments
/// ask at every event, and a merge copied every first and last value to
/// return one of them.
pub(crate) fn value_of<'a>(
    partials: impl IntoIterator<Item = &'a Partial>,
    aggregation: Aggregation,
) -> Value {
    let mut partials = partials.into_iter();
    let Some(first) = partials.next() else {
        return Partial::default().value(aggregation);
    };
    let Some(second) = partials.next() else {
        return first.value(aggregation);
    };
    let all = [first, second].into_iter().chain(partials);
    let pair = |p: &'a Partial| match &p.kept {
        Kept::Stamped(pair) => Some(&**pair),
        _ => None,
    };
    // Stamps are unique within a state ((time, order of application)),
    // so which of two equal ones wins never arises.
    let stamp = |(at, order, _): &&Stamped| (*at, *order);
    let chosen = match aggregation {
        Aggregation::First => all.filter_map(pair).map(|p| &p[0]).min_by_key(stamp),
        Aggregation::Last => all.filter_map(pair).map(|p| &p[1]).max_by_key(stamp),
        _ => {
            let mut total = Partial::default();
            for partial in all {
                total.merge(partial);
            }
            return total.value(aggregation);
        }
    };
    chosen.map_or(Value::Null, |(_, _, value)| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_partials_stay_small() {
        assert!(size_of::<Partial>() <= 48);
    }

    #[test]
    fn merging_halves_equals_adding_all() {
        let values: Vec<Value> = [3, 1, 4, 1, 5, 9, 2, 6]
            .iter()
            .map(|&n| Value::from(n))
            .collect();
        for aggregation in Aggregation::ALL {
            let mut all = Partial::default();
            let (mut left, mut right) = (Partial::default(), Partial::default());
            for (i, value) in values.iter().enumerate() {
                let at = 1000 - i as i64 * (i as i64 % 3);
                all.add(aggregation, at, i as u64, Some(value));
                let half = if i % 2 == 0 { &mut left } else { &mut right };
                half.add(aggregation, at, i as u64, Some(value));
            }
            let unmerged = value_of([&left, &right], aggregation);
            right.merge(&left);
            assert_eq!(
                right.value(aggregation),
                all.value(aggregation),
                "{aggregation:?}"
            );
            assert_eq!(unmerged, all.value(aggregation), "{aggregation:?}");
            assert_eq!(value_of([&all], aggregation), all.value(aggregation));
            let none = value_of([], aggregation);
            assert_eq!(none, Partial::default().value(aggregation));
        }
    }
}
