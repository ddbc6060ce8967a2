//! Who a profile is: the latent attributes drawn before any event.

use crate::catalog::devices::{DESKTOP_BROWSERS, MOBILE_BROWSERS, PHONES};
use crate::catalog::people::{Country, Zone, COMPANIES, COUNTRIES, EMAIL_DOMAINS};
use crate::catalog::products::STORES;
use crate::model::{
    Touch, ANONYMOUS_ONLY_SHARE, APP_FIRST_SHARE, B2B_SHARE, MULTI_DEVICE_SHARE,
    NEW_CUSTOMER_SHARE, SMS_SUBSCRIBER_SHARE, STORE_SHOPPER_SHARE,
};
use crate::sample::{chance, pick, pick_index, uniform, weighted_by, ProfileRng};
use crate::timeline::DAY;

#[derive(Debug, Clone, Copy)]
pub(crate) enum DeviceKind {
    /// Index into `DESKTOP_BROWSERS`.
    Desktop(u8),
    /// Index into `MOBILE_BROWSERS`.
    MobileWeb(u8),
    /// Index into `PHONES`.
    App(u8),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Device {
    pub kind: DeviceKind,
    pub ip: [u8; 4],
}

impl Device {
    pub(crate) fn is_app(&self) -> bool {
        matches!(self.kind, DeviceKind::App(_))
    }

    fn draw(rng: &mut ProfileRng, app: bool, mobile: bool) -> Self {
        let kind = if app {
            DeviceKind::App(pick_index(rng, PHONES.len()) as u8)
        } else if mobile {
            DeviceKind::MobileWeb(pick_index(rng, MOBILE_BROWSERS.len()) as u8)
        } else {
            DeviceKind::Desktop(pick_index(rng, DESKTOP_BROWSERS.len()) as u8)
        };
        // Documentation address blocks (RFC 5737): realistic shape, nobody's address.
        let block = pick(rng, &[[192, 0, 2], [198, 51, 100], [203, 0, 113]]);
        let host = 1 + pick_index(rng, 254) as u8;
        Device {
            kind,
            ip: [block[0], block[1], block[2], host],
        }
    }
}

#[derive(Debug)]
pub(crate) struct Person {
    pub index: u64,
    /// Will log in at some point; anonymous-only people never do.
    pub identified: bool,
    pub country: &'static Country,
    pub zone: &'static Zone,
    pub city: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email_domain: &'static str,
    pub devices: [Device; 2],
    pub device_count: usize,
    /// Indexed by `Touch::index`.
    pub exposed: [bool; 4],
    pub sms_subscriber: bool,
    pub store_shopper: bool,
    pub new_customer: bool,
    /// Account age in milliseconds at the window start, for customers who
    /// signed up before it.
    pub customer_for_ms: i64,
    pub company: Option<u8>,
}

impl Person {
    pub(crate) fn draw(rng: &mut ProfileRng, index: u64) -> Self {
        let identified = !chance(rng, ANONYMOUS_ONLY_SHARE);
        let country = weighted_country(rng);
        let zone = &country.zones[pick_index(rng, country.zones.len())];
        let app_first = chance(rng, APP_FIRST_SHARE);
        let mobile_web = chance(rng, 0.3);
        let first_device = Device::draw(rng, app_first, mobile_web);
        let two_devices = identified && chance(rng, MULTI_DEVICE_SHARE);
        // The second device is the other world: a phone app for desktop
        // people, a browser for app people.
        let second_device = Device::draw(rng, !app_first, false);
        let sms_subscriber = identified && chance(rng, SMS_SUBSCRIBER_SHARE);
        let mut exposed = [false; 4];
        for touch in Touch::ALL {
            exposed[touch.index()] = match touch {
                Touch::Email => identified && chance(rng, touch.exposure_share()),
                Touch::Sms => {
                    sms_subscriber && chance(rng, touch.exposure_share() / SMS_SUBSCRIBER_SHARE)
                }
                Touch::Ads | Touch::Social => chance(rng, touch.exposure_share()),
            };
        }
        Person {
            index,
            identified,
            country,
            zone,
            city: pick(rng, country.cities),
            first_name: pick(rng, country.first_names),
            last_name: pick(rng, country.last_names),
            email_domain: pick(rng, &EMAIL_DOMAINS),
            devices: [first_device, second_device],
            device_count: if two_devices { 2 } else { 1 },
            exposed,
            sms_subscriber,
            store_shopper: identified
                && STORES.iter().any(|s| s.2 == country.code)
                && chance(rng, STORE_SHOPPER_SHARE),
            new_customer: chance(rng, NEW_CUSTOMER_SHARE),
            customer_for_ms: uniform(rng, 30 * DAY, 1_030 * DAY),
            company: (identified && chance(rng, B2B_SHARE))
                .then(|| pick_index(rng, COMPANIES.len()) as u8),
        }
    }

    pub(crate) fn is_exposed(&self, touch: Touch) -> bool {
        self.exposed[touch.index()]
    }
}

fn weighted_country(rng: &mut ProfileRng) -> &'static Country {
    weighted_by(rng, &COUNTRIES, |country| country.weight)
}
