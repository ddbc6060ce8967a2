//! Customer service: calls, tickets, and the satisfaction surveys that
//! follow them. The NPS rule is the planted satisfaction truth.

use crate::event::{Call, Channel, Ticket, What, NO_DEVICE};
use crate::model::{
    CALLS_PER_DAY, CALL_RESOLVED_SHARE, CSAT_AFTER_CALL_SHARE, CSAT_RESOLVED_CALL,
    CSAT_UNRESOLVED_CALL, NPS_BASELINE, NPS_RESPONSE_SHARE, NPS_UNRESOLVED_TICKET_PENALTY,
    TICKETS_PER_DAY, TICKET_AFTER_UNRESOLVED_CALL_SHARE, TICKET_RESOLVED_SHARE,
};
use crate::profile::{Journey, TicketSpan, NEVER};
use crate::sample::{chance, pick_index, poisson, uniform, weighted};
use crate::timeline::{DAY, HOUR, MINUTE, SECOND};

pub(crate) static CALL_REASONS: [&str; 6] = [
    "payment_problem",
    "delivery_status",
    "return_request",
    "billing_question",
    "account_access",
    "product_question",
];
/// Reason of the call that follows a failed online payment.
pub(crate) const PAYMENT_PROBLEM: u8 = 0;

pub(crate) static TICKET_TOPICS: [&str; 5] = [
    "damaged_item",
    "late_delivery",
    "refund_request",
    "wrong_size",
    "account_issue",
];

impl Journey<'_> {
    /// Calls and tickets that arise on their own, over the whole window.
    pub(crate) fn service_contacts(&mut self) {
        let from = self.identified_at + HOUR;
        let end = self.timeline.end;
        let days = self.timeline.days();
        for _ in 0..poisson(self.rng, CALLS_PER_DAY * days) {
            let at = self
                .timeline
                .moment_within_hours(self.rng, from, end, 8, 20);
            let reason = 1 + pick_index(self.rng, CALL_REASONS.len() - 1) as u8;
            self.call(at, reason);
        }
        for _ in 0..poisson(self.rng, TICKETS_PER_DAY * days) {
            let at = self.timeline.waking_moment(self.rng, from, end);
            let topic = pick_index(self.rng, TICKET_TOPICS.len()) as u8;
            self.ticket(at, Channel::Email, topic);
        }
    }

    /// An inbound call; unresolved ones may turn into a ticket, and some
    /// callers answer a CSAT survey by SMS.
    pub(crate) fn call(&mut self, at: i64, reason: u8) {
        let call = Call {
            number: self.counters.next_call(),
            reason,
            duration_seconds: uniform(self.rng, 90, 1_500) as u16,
            resolved: chance(self.rng, CALL_RESOLVED_SHARE),
            agent: 100 + pick_index(self.rng, 60) as u16,
        };
        let ended_at = at + i64::from(call.duration_seconds) * SECOND;
        if !self.push(at, NO_DEVICE, What::CallStarted(call))
            || !self.push(ended_at, NO_DEVICE, What::CallEnded(call))
        {
            return;
        }
        self.note_service(ended_at);
        if chance(self.rng, CSAT_AFTER_CALL_SHARE) {
            let answered_at = ended_at + uniform(self.rng, 2 * MINUTE, 30 * MINUTE);
            let scale: &[(u8, u32)] = if call.resolved {
                &CSAT_RESOLVED_CALL
            } else {
                &CSAT_UNRESOLVED_CALL
            };
            let score = weighted(self.rng, scale);
            let csat = What::CsatAnswered {
                score,
                call: call.number,
            };
            if self.push(answered_at, NO_DEVICE, csat) {
                self.note_service(answered_at);
            }
        }
        if !call.resolved && chance(self.rng, TICKET_AFTER_UNRESOLVED_CALL_SHARE) {
            let opened_at = ended_at + uniform(self.rng, MINUTE, 10 * MINUTE);
            let topic = pick_index(self.rng, TICKET_TOPICS.len()) as u8;
            self.ticket(opened_at, Channel::CallCentre, topic);
        }
    }

    /// A ticket, resolved within hours or days, or left open.
    pub(crate) fn ticket(&mut self, at: i64, via: Channel, topic: u8) {
        if !self.ticket_slots_left() {
            return;
        }
        let ticket = Ticket {
            number: self.counters.next_ticket(),
            topic,
            via,
        };
        if !self.push(at, NO_DEVICE, What::TicketOpened(ticket)) {
            return;
        }
        self.note_service(at);
        self.remember_ticket(TicketSpan {
            opened: at,
            resolved: NEVER,
        });
        if chance(self.rng, TICKET_RESOLVED_SHARE) {
            let resolved_at = at + uniform(self.rng, 2 * HOUR, 4 * DAY);
            let hours = ((resolved_at - at) / HOUR) as u16;
            if self.push(
                resolved_at,
                NO_DEVICE,
                What::TicketResolved { ticket, hours },
            ) {
                self.note_service(resolved_at);
                self.update_ticket_resolution(resolved_at);
            }
        }
    }

    /// The NPS answer comes after the person's last service contact; a ticket
    /// still open at that moment takes a fixed number of points off a
    /// baseline that is the same for everyone.
    pub(crate) fn nps_survey(&mut self) {
        if !chance(self.rng, NPS_RESPONSE_SHARE) {
            return;
        }
        let after = self.decision_at.max(self.last_service_at);
        let at = self
            .timeline
            .waking_moment(self.rng, after + HOUR, after + 2 * DAY);
        let baseline = weighted(self.rng, &NPS_BASELINE);
        let score = if self.has_open_ticket(at) {
            baseline - NPS_UNRESOLVED_TICKET_PENALTY
        } else {
            baseline
        };
        self.push(at, NO_DEVICE, What::NpsAnswered { score });
    }
}
