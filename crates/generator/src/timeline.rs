//! The time window of one output and where in it a person acts.

use crate::sample::{chance, uniform, ProfileRng};

pub(crate) const SECOND: i64 = 1_000;
pub(crate) const MINUTE: i64 = 60 * SECOND;
pub(crate) const HOUR: i64 = 60 * MINUTE;
pub(crate) const DAY: i64 = 24 * HOUR;

/// `[start, end)` in Unix milliseconds, seen from one person's time zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline {
    pub start: i64,
    pub end: i64,
    days: u32,
    utc_offset: i64,
}

impl Timeline {
    pub(crate) fn new(start: i64, days: u32, utc_offset_minutes: i32) -> Self {
        Timeline {
            start,
            end: start + i64::from(days) * DAY,
            days,
            utc_offset: i64::from(utc_offset_minutes) * MINUTE,
        }
    }

    pub(crate) fn days(&self) -> f64 {
        f64::from(self.days)
    }

    pub(crate) fn contains(&self, at: i64) -> bool {
        at >= self.start && at < self.end
    }

    pub(crate) fn at_fraction(&self, fraction: f64) -> i64 {
        self.start + ((self.end - self.start) as f64 * fraction) as i64
    }

    fn local_hour(&self, at: i64) -> i64 {
        (at + self.utc_offset).rem_euclid(DAY) / HOUR
    }

    /// A moment in `[lo, hi)` inside local hours `open..close`, retried a few
    /// times and then accepted anyway: narrow windows must still yield a time.
    pub(crate) fn moment_within_hours(
        &self,
        rng: &mut ProfileRng,
        lo: i64,
        hi: i64,
        open: i64,
        close: i64,
    ) -> i64 {
        let mut at = uniform(rng, lo, hi);
        for _ in 0..6 {
            let hour = self.local_hour(at);
            if (open..close).contains(&hour) {
                break;
            }
            at = uniform(rng, lo, hi);
        }
        at
    }

    /// A moment in `[lo, hi)` when people are usually awake; a few night owls
    /// get through so night hours are rare rather than empty.
    pub(crate) fn waking_moment(&self, rng: &mut ProfileRng, lo: i64, hi: i64) -> i64 {
        if chance(rng, 0.04) {
            uniform(rng, lo, hi)
        } else {
            self.moment_within_hours(rng, lo, hi, 7, 23)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn waking_moments_stay_in_range_and_mostly_in_daytime() {
        let timeline = Timeline::new(1_767_225_600_000, 30, 60);
        let mut rng = ProfileRng::seed_from_u64(9);
        let mut daytime = 0;
        for _ in 0..2_000 {
            let at = timeline.waking_moment(&mut rng, timeline.start, timeline.end);
            assert!(timeline.contains(at));
            if (7..23).contains(&timeline.local_hour(at)) {
                daytime += 1;
            }
        }
        assert!(daytime > 1_850, "{daytime}");
    }

    #[test]
    fn empty_range_returns_its_start() {
        let timeline = Timeline::new(0, 1, 0);
        let mut rng = ProfileRng::seed_from_u64(1);
        assert_eq!(timeline.waking_moment(&mut rng, 500, 500), 500);
    }
}
