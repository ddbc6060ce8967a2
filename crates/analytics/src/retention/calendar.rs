//! UTC calendar intervals as ordinals: counting days, weeks or months
//! from the epoch turns "the next interval" into `+ 1` for the kernels,
//! and jiff turns ordinals back into dates for the report.

use std::ops::RangeInclusive;

use jiff::civil::{self, Date, Time};
use jiff::tz::Offset;
use jiff::{Span, Timestamp};
use serde::Serialize;

use crate::error::AnalyticsError;
use crate::query::Scope;
use crate::runs::Visit;

const DAY_MS: i64 = 86_400_000;

/// 1970-01-01 was a Thursday, so week 0 starts on Monday 1969-12-29,
/// three days before the epoch.
const WEEK_0_START_DAY: i64 = -3;

/// At most this many intervals in one report (27 years of days).
pub const MAX_INTERVALS: i64 = 10_000;

/// A UTC calendar interval: days start at 00:00 UTC, weeks on Monday,
/// months on the 1st.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
}

impl Interval {
    /// `day`, `week` or `month`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "day" => Ok(Interval::Day),
            "week" => Ok(Interval::Week),
            "month" => Ok(Interval::Month),
            _ => Err(format!(
                "interval: expected 'day', 'week' or 'month', not '{text}'"
            )),
        }
    }

    /// The ordinal of the interval holding `millis`: 0 is the interval
    /// holding the epoch, and consecutive intervals differ by one.
    pub fn ordinal(self, millis: i64) -> i64 {
        let day = millis.div_euclid(DAY_MS);
        match self {
            Interval::Day => day,
            Interval::Week => (day - WEEK_0_START_DAY).div_euclid(7),
            Interval::Month => {
                let date = utc_date(millis);
                (i64::from(date.year()) - 1970) * 12 + i64::from(date.month()) - 1
            }
        }
    }

    /// The first day of the interval `ordinal`.
    pub fn start(self, ordinal: i64) -> Date {
        let after_epoch = |days: i64| {
            let span = Span::new().try_days(days).ok()?;
            civil::date(1970, 1, 1).checked_add(span).ok()
        };
        let date = match self {
            Interval::Day => after_epoch(ordinal),
            Interval::Week => {
                after_epoch(ordinal.saturating_mul(7).saturating_add(WEEK_0_START_DAY))
            }
            Interval::Month => {
                let month = ordinal.rem_euclid(12) + 1;
                i16::try_from(1970 + ordinal.div_euclid(12))
                    .ok()
                    .and_then(|year| Date::new(year, month as i8, 1).ok())
            }
        };
        // Ordinals come from timestamps jiff can hold; saturate otherwise.
        date.unwrap_or(if ordinal < 0 { Date::MIN } else { Date::MAX })
    }

    /// The first millisecond of the interval `ordinal`.
    pub fn start_millis(self, ordinal: i64) -> i64 {
        Offset::UTC
            .to_timestamp(self.start(ordinal).to_datetime(Time::midnight()))
            .map_or(i64::MIN, |t| t.as_millisecond())
    }

    /// The distinct intervals, in order, of the visits whose mask has any
    /// of `bits`, into `out`. Visits come in time order, so a day's
    /// interval is computed once however many events it holds.
    pub fn active(self, visits: &[Visit], bits: u64, out: &mut Vec<i64>) {
        out.clear();
        let mut last_day = None;
        for visit in visits.iter().filter(|v| v.mask & bits != 0) {
            let day = visit.time.div_euclid(DAY_MS);
            if last_day == Some(day) {
                continue;
            }
            last_day = Some(day);
            let ordinal = self.ordinal(visit.time);
            if out.last() != Some(&ordinal) {
                out.push(ordinal);
            }
        }
    }
}

fn utc_date(millis: i64) -> Date {
    let timestamp = Timestamp::from_millisecond(millis).unwrap_or(if millis < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    Offset::UTC.to_datetime(timestamp).date()
}

/// The intervals a report covers, as inclusive ordinals; an open end is
/// closed by the data (see [`Bounds::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl Bounds {
    /// The intervals holding `from` and the last instant before `to`.
    pub fn of(range: &Scope, interval: Interval) -> Result<Self, AnalyticsError> {
        let millis = range.millis()?;
        let first = range.from.is_some().then(|| interval.ordinal(millis.start));
        let last = range
            .to
            .is_some()
            .then(|| interval.ordinal(millis.end.saturating_sub(1)));
        if let (Some(from), Some(to)) = (&range.from, &range.to) {
            if millis.start >= millis.end {
                return Err(AnalyticsError::Invalid(format!(
                    "from: {from} is not before to ({to})"
                )));
            }
        }
        if let (Some(first), Some(last)) = (first, last) {
            check_count(first, last, "to")?;
        }
        Ok(Bounds { first, last })
    }

    /// Every ordinal the report may cover, for kernels to keep.
    pub fn span(&self) -> RangeInclusive<i64> {
        self.first.unwrap_or(i64::MIN)..=self.last.unwrap_or(i64::MAX)
    }

    /// The intervals reported: an open start from the `earliest` interval
    /// the data has, and never past the `horizon` (the interval of the
    /// newest event), since later intervals have not begun. `None` when
    /// nothing is left.
    pub fn resolve(
        &self,
        earliest: Option<i64>,
        horizon: Option<i64>,
    ) -> Result<Option<RangeInclusive<i64>>, AnalyticsError> {
        let (Some(first), Some(horizon)) = (self.first.or(earliest), horizon) else {
            return Ok(None);
        };
        let last = self.last.map_or(horizon, |l| l.min(horizon));
        if first > last {
            return Ok(None);
        }
        check_count(first, last, "from")?;
        Ok(Some(first..=last))
    }
}

/// Refuses more than [`MAX_INTERVALS`] intervals, naming `field`.
fn check_count(first: i64, last: i64, field: &str) -> Result<(), AnalyticsError> {
    let count = last.saturating_sub(first).saturating_add(1);
    if count > MAX_INTERVALS {
        return Err(AnalyticsError::Invalid(format!(
            "{field}: the range spans {count} intervals, at most {MAX_INTERVALS} fit in a report"
        )));
    }
    Ok(())
}
