//! Writing a person's events as Segment spec messages, one JSON object per
//! line: the envelope (type, ids, timestamp) here, the rest in submodules.

mod context;
mod json;
mod properties;

use crate::catalog::pages::Page;
use crate::catalog::people::{fold_ascii, COMPANIES};
use crate::event::{CampaignRef, Event, What, NO_DEVICE};
use crate::ids::{customer_number, key, uuid, Salt};
use crate::model::Touch;
use crate::person::Person;
use json::Json;

/// Per-profile identifiers, rebuilt for every profile in reused buffers.
#[derive(Debug, Default)]
pub(crate) struct Contact {
    email: String,
    phone: String,
    loyalty_card: String,
}

impl Contact {
    fn fill(&mut self, person: &Person) {
        use std::fmt::Write as _;
        self.email.clear();
        fold_ascii(person.first_name, &mut self.email);
        self.email.push('.');
        fold_ascii(person.last_name, &mut self.email);
        // The profile index keeps addresses, phones and cards unique.
        let _ = write!(self.email, "{}@{}", person.index, person.email_domain);
        self.phone.clear();
        let _ = write!(
            self.phone,
            "{}7{:09}",
            person.country.phone_prefix,
            person.index % 1_000_000_000
        );
        self.loyalty_card.clear();
        let _ = write!(self.loyalty_card, "LC{:010}", person.index % 10_000_000_000);
    }
}

/// What `properties` and `context` need to know beyond the event itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keys {
    seed: u64,
    profile: u64,
}

impl Keys {
    pub(crate) fn of(&self, salt: Salt, n: u16) -> u64 {
        key(self.seed, self.profile, salt, u64::from(n))
    }
}

/// The page or screen a device is on, for `context.page` and `context.campaign`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CurrentView {
    pub page: Page,
    pub product: u8,
    pub campaign: Option<CampaignRef>,
}

/// Appends one line per event to `out`; `events` are in output order.
pub(crate) fn write_profile(
    out: &mut Vec<u8>,
    seed: u64,
    window_start: i64,
    person: &Person,
    contact: &mut Contact,
    events: &[Event],
) {
    contact.fill(person);
    let keys = Keys {
        seed,
        profile: person.index,
    };
    let customer = customer_number(seed, person.index);
    let anonymous_ids = [0, 1].map(|d| uuid(seed, person.index, Salt::Anonymous, d));
    let device_ids = [0, 1].map(|d| uuid(seed, person.index, Salt::DeviceId, d));
    let mut views: [Option<CurrentView>; 2] = [None; 2];
    let mut created_at = window_start - person.customer_for_ms;
    let mut signed_up_seen = !person.new_customer;

    for (n, event) in events.iter().enumerate() {
        let slot = usize::from(event.device);
        let on_device = event.device != NO_DEVICE;
        let device = person.devices.get(slot).filter(|_| on_device);
        let on_app = device.is_some_and(|d| d.is_app());
        if let What::View {
            page,
            product,
            campaign,
        } = event.what
        {
            views[slot] = Some(CurrentView {
                page,
                product,
                campaign,
            });
        }
        let view = if on_device { views[slot] } else { None };

        let mut json = Json::begin(out);
        json.str("type", segment_type(&event.what, on_app));
        json.uuid(
            "messageId",
            uuid(seed, person.index, Salt::Message, n as u64),
        );
        json.timestamp("timestamp", event.at);
        if event.with_user {
            json.hex_id("userId", "cust_", customer);
        }
        if on_device {
            json.uuid("anonymousId", anonymous_ids[slot]);
        }
        match event.what {
            What::View { page, .. } => {
                json.str("name", page.name());
                properties::view(&mut json, view, on_app);
            }
            What::Identify => {
                // New customers sign up at their first login.
                if !signed_up_seen {
                    created_at = event.at;
                    signed_up_seen = true;
                }
                traits(&mut json, person, contact, created_at);
            }
            What::Alias => json.uuid("previousId", anonymous_ids[slot]),
            What::Group { company } => group(&mut json, company),
            what => {
                json.str("event", what.track_name().unwrap_or("Unknown"));
                properties::track(&mut json, keys, &what, on_app);
            }
        }
        let campaign = campaign_of(&event.what).or(view.and_then(|v| v.campaign));
        let input = context::Input {
            person,
            contact,
            channel: event.what.channel(on_app),
            device: device.map(|d| (d, device_ids[slot])),
            campaign,
            page: view.filter(|_| !is_off_site(&event.what)),
        };
        context::write(&mut json, &input, &event.what);
        json.finish();
    }
}

fn segment_type(what: &What, on_app: bool) -> &'static str {
    match what {
        What::View { .. } if on_app => "screen",
        What::View { .. } => "page",
        What::Identify => "identify",
        What::Alias => "alias",
        What::Group { .. } => "group",
        _ => "track",
    }
}

/// The campaign an event itself belongs to, if it is a touch.
fn campaign_of(what: &What) -> Option<CampaignRef> {
    let (touch, index) = match *what {
        What::EmailSent { campaign, .. }
        | What::EmailOpened { campaign, .. }
        | What::EmailLinkClicked { campaign, .. } => (Touch::Email, campaign),
        What::SmsSent { campaign, .. } | What::SmsLinkClicked { campaign, .. } => {
            (Touch::Sms, campaign)
        }
        What::AdClicked { campaign } => (Touch::Ads, campaign),
        What::SocialPostClicked { campaign } => (Touch::Social, campaign),
        _ => return None,
    };
    Some(CampaignRef { touch, index })
}

/// Clicks on ads and posts happen on someone else's site, not on a shop page.
fn is_off_site(what: &What) -> bool {
    matches!(
        what,
        What::AdClicked { .. } | What::SocialPostClicked { .. }
    )
}

fn traits(json: &mut Json<'_>, person: &Person, contact: &Contact, created_at: i64) {
    json.begin_object("traits");
    json.str("email", &contact.email);
    json.str("phone", &contact.phone);
    json.str("firstName", person.first_name);
    json.str("lastName", person.last_name);
    json.str("timezone", person.zone.name);
    json.str("country", person.country.code);
    json.str("city", person.city);
    json.timestamp("createdAt", created_at);
    json.bool("smsSubscribed", person.sms_subscriber);
    json.end_object();
}

fn group(json: &mut Json<'_>, company: u8) {
    let (name, industry, employees) = COMPANIES[usize::from(company) % COMPANIES.len()];
    json.hex_id(
        "groupId",
        "org_",
        key(0, u64::from(company), Salt::Group, 0),
    );
    json.begin_object("traits");
    json.str("name", name);
    json.str("industry", industry);
    json.u64("employees", u64::from(employees));
    json.end_object();
}
