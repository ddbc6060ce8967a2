//! One person's events before they are written: compact, `Copy`, and
//! pointing into the static catalogues instead of owning strings.

use crate::catalog::pages::Page;
use crate::catalog::products::PRODUCTS;
use crate::model::Touch;

/// `Event::device` of server-side events (e-mail, SMS, call centre, store).
pub(crate) const NO_DEVICE: u8 = u8::MAX;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    /// Unix milliseconds.
    pub at: i64,
    /// Creation order, the tie-break that keeps causes before effects when
    /// two events share a millisecond.
    pub order: u32,
    /// Index into `Person::devices`, or `NO_DEVICE`.
    pub device: u8,
    /// Whether the written message carries `userId`; set by `assign_user_ids`.
    pub with_user: bool,
    pub what: What,
}

/// Up to three (product index, quantity) lines.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Basket {
    lines: [(u8, u8); 3],
    len: u8,
}

impl Basket {
    pub(crate) fn push(&mut self, product: u8, quantity: u8) {
        if usize::from(self.len) < self.lines.len() {
            self.lines[usize::from(self.len)] = (product, quantity);
            self.len += 1;
        }
    }

    pub(crate) fn lines(&self) -> &[(u8, u8)] {
        &self.lines[..usize::from(self.len)]
    }

    pub(crate) fn subtotal_cents(&self) -> u64 {
        self.lines()
            .iter()
            .map(|&(p, q)| u64::from(PRODUCTS[usize::from(p)].price_cents) * u64::from(q))
            .sum()
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub number: u16,
    pub reason: u8,
    pub duration_seconds: u16,
    pub resolved: bool,
    pub agent: u16,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub number: u16,
    pub topic: u8,
    /// Channel the ticket was raised through.
    pub via: Channel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderPlace {
    Online,
    Store(u8),
}

/// A campaign in the pool of one touch channel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CampaignRef {
    pub touch: Touch,
    pub index: u8,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum What {
    /// A `page` on web, a `screen` in the app; `product` is the page's subject.
    View {
        page: Page,
        product: u8,
        campaign: Option<CampaignRef>,
    },
    ProductViewed {
        product: u8,
    },
    ProductAdded {
        product: u8,
        quantity: u8,
        cart: u16,
    },
    CheckoutStarted {
        basket: Basket,
        order: u16,
    },
    PaymentInfoEntered {
        order: u16,
        method: u8,
    },
    OrderCompleted {
        basket: Basket,
        order: u16,
        method: u8,
        place: OrderPlace,
    },
    SignedIn {
        first_time: bool,
    },
    Identify,
    Alias,
    Group {
        company: u8,
    },
    AdClicked {
        campaign: u8,
    },
    SocialPostClicked {
        campaign: u8,
    },
    EmailSent {
        campaign: u8,
        email: u16,
    },
    EmailOpened {
        campaign: u8,
        email: u16,
    },
    EmailLinkClicked {
        campaign: u8,
        email: u16,
    },
    SmsSent {
        campaign: u8,
        sms: u16,
    },
    SmsLinkClicked {
        campaign: u8,
        sms: u16,
    },
    CallStarted(Call),
    CallEnded(Call),
    TicketOpened(Ticket),
    TicketResolved {
        ticket: Ticket,
        hours: u16,
    },
    NpsAnswered {
        score: u8,
    },
    CsatAnswered {
        score: u8,
        call: u16,
    },
}

/// `context.channel` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Web,
    App,
    Email,
    Sms,
    Ads,
    Social,
    CallCentre,
    Store,
}

impl Channel {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Ads => "ads",
            Channel::Social => "social",
            Channel::CallCentre => "call_centre",
            Channel::Store => "store",
        }
    }
}

impl What {
    /// The `event` name of track messages; `None` for the other types.
    pub(crate) fn track_name(&self) -> Option<&'static str> {
        Some(match self {
            What::View { .. } | What::Identify | What::Alias | What::Group { .. } => return None,
            What::ProductViewed { .. } => "Product Viewed",
            What::ProductAdded { .. } => "Product Added",
            What::CheckoutStarted { .. } => "Checkout Started",
            What::PaymentInfoEntered { .. } => "Payment Info Entered",
            What::OrderCompleted { .. } => "Order Completed",
            What::SignedIn { first_time: true } => "Signed Up",
            What::SignedIn { first_time: false } => "Signed In",
            What::AdClicked { .. } => "Ad Clicked",
            What::SocialPostClicked { .. } => "Social Post Clicked",
            What::EmailSent { .. } => "Email Sent",
            What::EmailOpened { .. } => "Email Opened",
            What::EmailLinkClicked { .. } => "Email Link Clicked",
            What::SmsSent { .. } => "SMS Sent",
            What::SmsLinkClicked { .. } => "SMS Link Clicked",
            What::CallStarted(_) => "Call Started",
            What::CallEnded(_) => "Call Ended",
            What::TicketOpened(_) => "Ticket Opened",
            What::TicketResolved { .. } => "Ticket Resolved",
            What::NpsAnswered { .. } => "NPS Survey Answered",
            What::CsatAnswered { .. } => "CSAT Survey Answered",
        })
    }

    /// The channel of a server-side event, or of a device event seen through
    /// a device of the given kind.
    pub(crate) fn channel(&self, on_app: bool) -> Channel {
        match self {
            What::AdClicked { .. } => Channel::Ads,
            What::SocialPostClicked { .. } => Channel::Social,
            What::EmailSent { .. }
            | What::EmailOpened { .. }
            | What::EmailLinkClicked { .. }
            | What::NpsAnswered { .. } => Channel::Email,
            What::SmsSent { .. } | What::SmsLinkClicked { .. } | What::CsatAnswered { .. } => {
                Channel::Sms
            }
            What::CallStarted(_) | What::CallEnded(_) => Channel::CallCentre,
            What::TicketOpened(ticket) | What::TicketResolved { ticket, .. } => ticket.via,
            What::OrderCompleted {
                place: OrderPlace::Store(_),
                ..
            } => Channel::Store,
            _ if on_app => Channel::App,
            _ => Channel::Web,
        }
    }

    /// The touch channel this event exposes a person to, if any.
    pub(crate) fn exposure(&self) -> Option<Touch> {
        match self {
            What::EmailLinkClicked { .. } => Some(Touch::Email),
            What::SmsLinkClicked { .. } => Some(Touch::Sms),
            What::AdClicked { .. } => Some(Touch::Ads),
            What::SocialPostClicked { .. } => Some(Touch::Social),
            _ => None,
        }
    }
}

/// Sorts a person's events into output order and decides which carry
/// `userId`: server-side events always (they are keyed by customer), device
/// events from that device's `identify` on, as a Segment SDK would do.
pub(crate) fn finish_stream(events: &mut [Event]) {
    events.sort_unstable_by_key(|e| (e.at, e.order));
    let mut identified = [false; 2];
    for event in events.iter_mut() {
        event.with_user = match usize::from(event.device) {
            d if d < identified.len() => {
                if matches!(event.what, What::Identify) {
                    identified[d] = true;
                }
                identified[d]
            }
            _ => true,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, order: u32, device: u8, what: What) -> Event {
        Event {
            at,
            order,
            device,
            with_user: false,
            what,
        }
    }

    #[test]
    fn devices_carry_user_id_only_from_their_own_identify_on() {
        let viewed = What::ProductViewed { product: 0 };
        let mut events = [
            event(30, 0, 1, viewed),
            event(10, 1, 0, viewed),
            event(20, 2, 0, What::Identify),
            event(20, 3, 0, What::Alias),
            event(5, 4, NO_DEVICE, What::NpsAnswered { score: 9 }),
            event(40, 5, 0, viewed),
        ];
        finish_stream(&mut events);
        let seen: Vec<(i64, bool)> = events.iter().map(|e| (e.at, e.with_user)).collect();
        assert_eq!(
            seen,
            [
                (5, true),
                (10, false),
                (20, true),
                (20, true),
                (30, false),
                (40, true)
            ]
        );
        assert!(
            matches!(events[2].what, What::Identify),
            "ties keep creation order"
        );
    }
}
