//! Partial aggregates: mergeable summaries of some matching events.

use std::collections::HashSet;

use serde_json::Value;

use crate::definition::Aggregation;

/// A value with the event time and application order it came with; the
/// order breaks ties between events of the same millisecond.
type Stamped = (i64, u64, Value);

/// Everything every aggregation needs, for one day or all time.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Partial {
    events: u64,
    numbers: u64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    first: Option<Stamped>,
    last: Option<Stamped>,
    distinct: HashSet<u64>,
}

impl Partial {
    /// Adds one matching event. Only what `aggregation` reads is kept: a
    /// sum need not remember every distinct value, nor a count any value.
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
                self.add_number(value);
            }
            Aggregation::First | Aggregation::Last => self.add_stamped(timestamp, order, value),
            // Values are told apart by their JSON text: 1 and "1" differ.
            Aggregation::DistinctCount => {
                self.distinct
                    .insert(xxhash_rust::xxh3::xxh3_64(value.to_string().as_bytes()));
            }
        }
    }

    fn add_number(&mut self, value: &Value) {
        if let Some(n) = value.as_f64() {
            self.numbers += 1;
            self.sum += n;
            self.min = Some(self.min.map_or(n, |m| m.min(n)));
            self.max = Some(self.max.map_or(n, |m| m.max(n)));
        }
    }

    fn add_stamped(&mut self, timestamp: i64, order: u64, value: &Value) {
        let stamped = (timestamp, order, value.clone());
        if self
            .first
            .as_ref()
            .is_none_or(|f| (timestamp, order) < (f.0, f.1))
        {
            self.first = Some(stamped.clone());
        }
        if self
            .last
            .as_ref()
            .is_none_or(|l| (timestamp, order) > (l.0, l.1))
        {
            self.last = Some(stamped);
        }
    }

    pub(crate) fn merge(&mut self, other: &Partial) {
        self.events += other.events;
        self.numbers += other.numbers;
        self.sum += other.sum;
        self.min = combine(self.min, other.min, f64::min);
        self.max = combine(self.max, other.max, f64::max);
        if let Some(f) = &other.first {
            if self
                .first
                .as_ref()
                .is_none_or(|mine| (f.0, f.1) < (mine.0, mine.1))
            {
                self.first = Some(f.clone());
            }
        }
        if let Some(l) = &other.last {
            if self
                .last
                .as_ref()
                .is_none_or(|mine| (l.0, l.1) > (mine.0, mine.1))
            {
                self.last = Some(l.clone());
            }
        }
        self.distinct.extend(&other.distinct);
    }

    pub(crate) fn value(&self, aggregation: Aggregation) -> Value {
        let number = |n: f64| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number);
        match aggregation {
            Aggregation::Count => Value::from(self.events),
            Aggregation::Sum => number(self.sum),
            Aggregation::Min => self.min.map_or(Value::Null, number),
            Aggregation::Max => self.max.map_or(Value::Null, number),
            Aggregation::Average if self.numbers == 0 => Value::Null,
            Aggregation::Average => number(self.sum / self.numbers as f64),
            Aggregation::First => self.first.as_ref().map_or(Value::Null, |f| f.2.clone()),
            Aggregation::Last => self.last.as_ref().map_or(Value::Null, |l| l.2.clone()),
            Aggregation::DistinctCount => Value::from(self.distinct.len()),
        }
    }
}

fn combine(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}
