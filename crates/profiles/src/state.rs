//! One profile's state for one computed trait.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use smallvec::SmallVec;

use crate::filter::Fields;

use crate::aggregate::{value_of, Partial};
use crate::definition::ComputedTrait;
use crate::DAY_MILLIS;

/// Incremental state of a computed trait for one profile: one partial
/// aggregate for all time, or one per UTC day for a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraitState {
    /// `(day, partial)`, days ascending. All-time traits use day 0 only,
    /// held inline: a profile has one state per trait, and an allocation
    /// each cost more to make, copy and free than the day it held.
    /// Grown one day at a time beyond that: most states hold one or a few
    /// days, so spare capacity is memory.
    days: SmallVec<[(i64, Partial); 1]>,
    /// Events applied so far; orders events of the same millisecond.
    applied: u64,
}

fn day_of(millis: i64) -> i64 {
    millis.div_euclid(DAY_MILLIS)
}

/// The oldest day still in a `window`-day window ending on `now`'s day.
fn first_day_in_window(window: u32, now: i64) -> i64 {
    day_of(now) - i64::from(window) + 1
}

impl TraitState {
    /// Counts `event` (which happened at `timestamp`) if the trait matches
    /// it. Returns whether the state changed. An event older than the
    /// window at `now` is left out: it could only leave again.
    pub fn apply(
        &mut self,
        definition: &ComputedTrait,
        event: &impl Fields,
        timestamp: i64,
        now: i64,
    ) -> bool {
        definition.matches(event) && self.apply_matched(definition, event, timestamp, now)
    }

    /// [`TraitState::apply`] for an event already known to match
    /// `definition` (the engine checks before it takes the state).
    pub fn apply_matched(
        &mut self,
        definition: &ComputedTrait,
        event: &impl Fields,
        timestamp: i64,
        now: i64,
    ) -> bool {
        let day = match definition.window_days {
            Some(window) if day_of(timestamp) < first_day_in_window(window, now) => return false,
            Some(_) => day_of(timestamp),
            None => 0,
        };
        let at = self.days.partition_point(|(d, _)| *d < day);
        if self.days.get(at).is_none_or(|(d, _)| *d != day) {
            self.days.reserve_exact(1);
            self.days.insert(at, (day, Partial::default()));
        }
        self.applied += 1;
        self.days[at].1.add(
            definition.aggregation,
            timestamp,
            self.applied,
            definition.input(event),
        );
        true
    }

    /// The trait's value at time `now`.
    pub fn value(&self, definition: &ComputedTrait, now: i64) -> Value {
        let oldest = match definition.window_days {
            Some(window) => first_day_in_window(window, now),
            None => i64::MIN,
        };
        let in_window = self.days.iter().filter(|(day, _)| *day >= oldest);
        value_of(in_window.map(|(_, p)| p), definition.aggregation)
    }

    /// Drops the days that left the window by `now`; returns how many. The
    /// value is the same before and after: this only frees what can no
    /// longer count.
    pub fn expire(&mut self, definition: &ComputedTrait, now: i64) -> usize {
        let Some(window) = definition.window_days else {
            return 0;
        };
        let oldest = first_day_in_window(window, now);
        let gone = self.days.partition_point(|(day, _)| *day < oldest);
        if gone > 0 {
            self.days.drain(..gone);
            self.days.shrink_to_fit();
        }
        gone
    }

    /// When the oldest counted day leaves the window: the time a timer
    /// should fire to re-evaluate (and [`TraitState::expire`]). `None` for
    /// all-time traits and empty states.
    pub fn next_expiry(&self, definition: &ComputedTrait) -> Option<i64> {
        let window = definition.window_days?;
        let (oldest, _) = self.days.first()?;
        Some((oldest + i64::from(window)) * DAY_MILLIS)
    }

    /// Folds in another profile's state for the same trait (a merge):
    /// day by day, so windows keep sliding as if the events had all been
    /// this profile's.
    pub fn merge(&mut self, other: TraitState) {
        for (day, partial) in other.days {
            let at = self.days.partition_point(|(d, _)| *d < day);
            match self.days.get_mut(at) {
                Some((d, mine)) if *d == day => mine.merge(&partial),
                _ => {
                    self.days.reserve_exact(1);
                    self.days.insert(at, (day, partial));
                }
            }
        }
        self.applied += other.applied;
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}
