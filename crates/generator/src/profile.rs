//! One person's journey: the skeleton that places sessions, touches, the
//! shopping decision and service contacts on the timeline. The channel
//! modules add the pieces as further `impl Journey` blocks.

use rand::SeedableRng;

use crate::event::{finish_stream, Event, What, NO_DEVICE};
use crate::ids::{key, Salt};
use crate::model::BROWSE_SESSIONS_PER_DAY;
use crate::person::Person;
use crate::sample::{chance, poisson, ProfileRng};
use crate::timeline::{Timeline, HOUR, MINUTE};

/// Marks "never happened" for times, so comparisons need no `Option`.
pub(crate) const NEVER: i64 = i64::MAX;
/// Tickets remembered for the NPS rule; more in one window are not opened.
const MAX_TICKETS: usize = 16;

/// When a ticket was opened and resolved (`NEVER` if not in the window).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TicketSpan {
    pub opened: i64,
    pub resolved: i64,
}

/// Running numbers of the things a person accumulates; they feed ids.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub cart: u16,
    pub order: u16,
    pub email: u16,
    pub sms: u16,
    pub call: u16,
    pub ticket: u16,
}

fn bump(counter: &mut u16) -> u16 {
    let n = *counter;
    *counter = counter.saturating_add(1);
    n
}

impl Counters {
    pub(crate) fn next_cart(&mut self) -> u16 {
        bump(&mut self.cart)
    }
    pub(crate) fn next_order(&mut self) -> u16 {
        bump(&mut self.order)
    }
    pub(crate) fn next_email(&mut self) -> u16 {
        bump(&mut self.email)
    }
    pub(crate) fn next_sms(&mut self) -> u16 {
        bump(&mut self.sms)
    }
    pub(crate) fn next_call(&mut self) -> u16 {
        bump(&mut self.call)
    }
    pub(crate) fn next_ticket(&mut self) -> u16 {
        bump(&mut self.ticket)
    }
}

#[derive(Debug)]
pub(crate) struct Journey<'a> {
    pub person: &'a Person,
    pub timeline: Timeline,
    pub rng: &'a mut ProfileRng,
    events: &'a mut Vec<Event>,
    pub counters: Counters,
    /// Start of the first session.
    pub first_seen_at: i64,
    /// When the first device logged in.
    pub identified_at: i64,
    /// First session of the second device.
    pub second_device_since: i64,
    /// The shopping session; every click on a touch happens before it.
    pub decision_at: i64,
    /// Latest call, ticket or CSAT event, so the NPS survey comes after them.
    pub last_service_at: i64,
    tickets: [TicketSpan; MAX_TICKETS],
    ticket_count: usize,
}

/// Simulates profile `index` into `events` (cleared first), in output order
/// and with `userId` decided. Returns who the person is.
pub(crate) fn simulate(
    seed: u64,
    index: u64,
    start: i64,
    days: u32,
    events: &mut Vec<Event>,
) -> Person {
    events.clear();
    let mut rng = ProfileRng::seed_from_u64(key(seed, index, Salt::Rng, 0));
    let person = Person::draw(&mut rng, index);
    if days > 0 {
        let timeline = Timeline::new(start, days, person.zone.utc_offset_minutes);
        Journey {
            person: &person,
            timeline,
            rng: &mut rng,
            events: &mut *events,
            counters: Counters::default(),
            first_seen_at: NEVER,
            identified_at: NEVER,
            second_device_since: NEVER,
            decision_at: NEVER,
            last_service_at: timeline.start,
            tickets: [TicketSpan::default(); MAX_TICKETS],
            ticket_count: 0,
        }
        .run();
        finish_stream(events);
    }
    person
}

impl Journey<'_> {
    fn run(&mut self) {
        let timeline = self.timeline;
        let first_at = timeline.waking_moment(self.rng, timeline.start, timeline.at_fraction(0.15));
        self.first_seen_at = first_at;
        self.decision_at = timeline.waking_moment(
            self.rng,
            timeline.at_fraction(0.35),
            timeline.at_fraction(0.9),
        );
        self.first_session(0, first_at);
        if self.person.device_count == 2 {
            let at = timeline.waking_moment(self.rng, first_at + HOUR, self.decision_at - 2 * HOUR);
            self.second_device_since = at;
            self.first_session(1, at);
        }
        let sessions = poisson(self.rng, BROWSE_SESSIONS_PER_DAY * timeline.days());
        for _ in 0..sessions {
            let at = timeline.waking_moment(self.rng, first_at + 30 * MINUTE, timeline.end);
            let device = self.device_at(at);
            self.browse_session(device, at);
        }
        self.marketing();
        self.shopping_decision();
        if self.person.identified {
            self.store_visits();
            self.service_contacts();
            self.nps_survey();
        }
    }

    /// Adds an event if it falls inside the window; the caller stops a
    /// sequence on `false`, so nothing depends on an event that was not written.
    pub(crate) fn push(&mut self, at: i64, device: u8, what: What) -> bool {
        if !self.timeline.contains(at) {
            return false;
        }
        let order = self.events.len() as u32;
        self.events.push(Event {
            at,
            order,
            device,
            with_user: device == NO_DEVICE,
            what,
        });
        true
    }

    /// Which device a session at `at` happens on. The second device is used
    /// only an hour after its first session, when it has surely logged in.
    pub(crate) fn device_at(&mut self, at: i64) -> u8 {
        let second_ready =
            self.second_device_since != NEVER && at > self.second_device_since + HOUR;
        u8::from(second_ready && chance(self.rng, 0.5))
    }

    pub(crate) fn note_service(&mut self, at: i64) {
        self.last_service_at = self.last_service_at.max(at);
    }

    /// Remembers a ticket for the NPS rule; callers check `ticket_slots_left`.
    pub(crate) fn remember_ticket(&mut self, span: TicketSpan) {
        if self.ticket_count < MAX_TICKETS {
            self.tickets[self.ticket_count] = span;
            self.ticket_count += 1;
        }
    }

    pub(crate) fn ticket_slots_left(&self) -> bool {
        self.ticket_count < MAX_TICKETS
    }

    pub(crate) fn update_ticket_resolution(&mut self, resolved: i64) {
        if let Some(last) = self.tickets[..self.ticket_count].last_mut() {
            last.resolved = resolved;
        }
    }

    /// Whether some ticket is open at `at`: opened by then, not resolved by then.
    pub(crate) fn has_open_ticket(&self, at: i64) -> bool {
        self.tickets[..self.ticket_count]
            .iter()
            .any(|t| t.opened <= at && t.resolved > at)
    }
}
