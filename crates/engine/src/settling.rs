//! Judging profiles when something other than an event moves them: time
//! (window timers), going live after the start-up replay, and the end of
//! a back-fill (everyone is judged again, a page at a time, so the runner
//! can write checkpoints in between and memory stays bounded).

use crate::book::{Action, ProfileBook};
use crate::buffered::time_of_key;
use crate::views::SWEEP;

/// Timers are read this many at a time.
const TIMER_PAGE: usize = 256;

impl ProfileBook {
    /// When the next window timer is due.
    pub fn next_timer(&self) -> Option<i64> {
        let first = self.timers.scan(b"", b"", 1);
        first.first().and_then(|(key, _)| time_of_key(key))
    }

    /// Fires every timer due by `now`: windows slide, memberships follow.
    pub fn fire_timers(&mut self, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.timers_floor.is_some_and(|floor| floor > now) {
            return actions;
        }
        let mut start = Vec::new();
        // Until a timer due later is seen, none is left.
        self.timers_floor = Some(i64::MAX);
        'pages: loop {
            let page = self.timers.scan(b"", &start, TIMER_PAGE);
            for (key, _) in &page {
                let Some(due) = time_of_key(key).filter(|&due| due <= now) else {
                    // Timers re-armed above may be due sooner.
                    let next = time_of_key(key).unwrap_or(i64::MIN);
                    self.timers_floor = self.timers_floor.map(|floor| floor.min(next));
                    break 'pages;
                };
                self.timers.delete(key);
                let Ok(profile) = std::str::from_utf8(&key[8..]) else {
                    continue;
                };
                // A timer left behind by a merge or a re-arm is stale.
                let definitions = &self.definitions;
                let Some(state) = self.profiles.get_mut(profile, definitions) else {
                    continue;
                };
                if state.timer == Some(due) {
                    state.timer = None;
                    let profile = profile.to_owned();
                    actions.extend(self.settle(&profile, now));
                }
            }
            match page.last() {
                // Re-armed timers are due later than `now`: past the cursor.
                Some((last, _)) if page.len() == TIMER_PAGE => {
                    start = last.clone();
                    start.push(0);
                }
                _ => break,
            }
        }
        actions
    }

    /// Goes live after the start-up replay. When the stored state had been
    /// judged before, only the profiles the replay touched (or that were
    /// waiting for a change to be read back) are judged again, and their
    /// actions returned; `None` means everyone must be judged
    /// ([`ProfileBook::settle_page`]).
    pub fn go_live(&mut self, now: i64) -> Option<Vec<Action>> {
        self.live = true;
        // Effects decided before and not known done are done now (again,
        // under the same keys, if they were done before a crash).
        let pending = self.journeys.all_outbox();
        self.journeys.fresh.extend(pending);
        let touched = std::mem::take(&mut self.touched);
        if !self.settled {
            return None;
        }
        Some(touched.iter().flat_map(|id| self.settle(id, now)).collect())
    }

    /// Judges the next page of profiles in id order after `after`; returns
    /// the actions and where to go on from (`None` when done). With a
    /// store, write a checkpoint first: the store lists the profiles.
    pub fn settle_page(&mut self, after: Option<&str>, now: i64) -> (Vec<Action>, Option<String>) {
        let ids = self.profiles.ids_after(after, SWEEP);
        let actions = ids.iter().flat_map(|id| self.settle(id, now)).collect();
        let next = (ids.len() == SWEEP).then(|| ids.last().cloned()).flatten();
        (actions, next)
    }

    /// Every profile has been judged.
    pub fn mark_settled(&mut self) {
        self.settled = true;
    }
}
