//! Counting the realised truths from the events exactly as they are written.
//! Every rule here mirrors a rule an analyst can apply to the JSONL; the
//! integration test re-derives the same numbers from the text.

use crate::event::{Event, OrderPlace, What, NO_DEVICE};
use crate::model::{Touch, FUNNEL_STEPS};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExposureCounts {
    pub exposed: u64,
    pub exposed_converted: u64,
    pub unexposed: u64,
    pub unexposed_converted: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScoreSum {
    pub responses: u64,
    pub score_sum: u64,
}

impl ScoreSum {
    fn add(&mut self, score: u8) {
        self.responses += 1;
        self.score_sum += u64::from(score);
    }

    fn merge(&mut self, other: &ScoreSum) {
        self.responses += other.responses;
        self.score_sum += other.score_sum;
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub profiles: u64,
    pub events: u64,
    pub identified: u64,
    pub anonymous_only: u64,
    pub multi_device: u64,
    pub with_alias: u64,
    pub converted: u64,
    /// Indexed by `Touch::index`; identified profiles only.
    pub exposure: [ExposureCounts; 4],
    /// Profiles reaching each funnel step in order, online events only.
    pub funnel: [u64; FUNNEL_STEPS.len()],
    /// NPS answers without / with a ticket open at answer time.
    pub nps: [ScoreSum; 2],
    /// CSAT answers after an unresolved / resolved call.
    pub csat: [ScoreSum; 2],
}

impl Tally {
    /// Adds one profile, given its events in output order.
    pub(crate) fn observe(&mut self, events: &[Event]) {
        self.profiles += 1;
        self.events += events.len() as u64;
        if events.is_empty() {
            return;
        }
        let mut devices = 0u32;
        let mut has_user = false;
        let mut has_alias = false;
        let mut converted = false;
        let mut exposed = [false; 4];
        let mut funnel_reached = 0;
        let mut open_tickets = 0u64;
        for (position, event) in events.iter().enumerate() {
            has_user |= event.with_user;
            let online = event.device != NO_DEVICE;
            if online {
                devices |= 1 << event.device;
            }
            if let Some(touch) = event.what.exposure() {
                exposed[touch.index()] = true;
            }
            if online
                && funnel_reached < FUNNEL_STEPS.len()
                && event.what.track_name() == Some(FUNNEL_STEPS[funnel_reached])
            {
                funnel_reached += 1;
            }
            match event.what {
                What::Alias => has_alias = true,
                What::OrderCompleted {
                    place: OrderPlace::Online,
                    ..
                } => converted = true,
                What::TicketOpened(ticket) => open_tickets |= ticket_bit(ticket.number),
                What::TicketResolved { ticket, .. } => open_tickets &= !ticket_bit(ticket.number),
                What::NpsAnswered { score } => self.nps[usize::from(open_tickets != 0)].add(score),
                What::CsatAnswered { score, call } => {
                    let resolved = call_resolved(&events[..position], call);
                    self.csat[usize::from(resolved)].add(score);
                }
                _ => {}
            }
        }
        for count in &mut self.funnel[..funnel_reached] {
            *count += 1;
        }
        if !has_user {
            self.anonymous_only += 1;
            return;
        }
        self.identified += 1;
        self.multi_device += u64::from(devices.count_ones() >= 2);
        self.with_alias += u64::from(has_alias);
        self.converted += u64::from(converted);
        for touch in Touch::ALL {
            let counts = &mut self.exposure[touch.index()];
            if exposed[touch.index()] {
                counts.exposed += 1;
                counts.exposed_converted += u64::from(converted);
            } else {
                counts.unexposed += 1;
                counts.unexposed_converted += u64::from(converted);
            }
        }
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        self.profiles += other.profiles;
        self.events += other.events;
        self.identified += other.identified;
        self.anonymous_only += other.anonymous_only;
        self.multi_device += other.multi_device;
        self.with_alias += other.with_alias;
        self.converted += other.converted;
        for (mine, theirs) in self.exposure.iter_mut().zip(&other.exposure) {
            mine.exposed += theirs.exposed;
            mine.exposed_converted += theirs.exposed_converted;
            mine.unexposed += theirs.unexposed;
            mine.unexposed_converted += theirs.unexposed_converted;
        }
        for (mine, theirs) in self.funnel.iter_mut().zip(&other.funnel) {
            *mine += theirs;
        }
        for (mine, theirs) in self.nps.iter_mut().zip(&other.nps) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.csat.iter_mut().zip(&other.csat) {
            mine.merge(theirs);
        }
    }
}

/// Ticket numbers stay below the per-window ticket limit (16), so a bit each fits.
fn ticket_bit(number: u16) -> u64 {
    1 << (number % 64)
}

/// Whether the call a CSAT answer refers to ended resolved, looking back
/// from the answer (it follows its call within minutes).
fn call_resolved(before: &[Event], number: u16) -> bool {
    before
        .iter()
        .rev()
        .find_map(|e| match e.what {
            What::CallEnded(call) if call.number == number => Some(call.resolved),
            _ => None,
        })
        .unwrap_or(false)
}
