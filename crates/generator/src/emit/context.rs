//! `context`: what a Segment library or a server-side source would attach
//! for the channel the event came through.

use super::json::Json;
use super::{Contact, CurrentView};
use crate::catalog::campaigns::campaign;
use crate::catalog::devices::{APP_NAME, APP_VERSION, DESKTOP_BROWSERS, MOBILE_BROWSERS, PHONES};
use crate::catalog::products::STORES;
use crate::event::{CampaignRef, Channel, OrderPlace, What};
use crate::person::{Device, DeviceKind, Person};

#[derive(Debug)]
pub(crate) struct Input<'a> {
    pub person: &'a Person,
    pub contact: &'a Contact,
    pub channel: Channel,
    /// The device and its `context.device.id`, for browser and app events.
    pub device: Option<(&'a Device, u128)>,
    pub campaign: Option<CampaignRef>,
    /// The shop page the device is on, for web events.
    pub page: Option<CurrentView>,
}

pub(crate) fn write(json: &mut Json<'_>, input: &Input<'_>, what: &What) {
    json.begin_object("context");
    json.str("channel", input.channel.as_str());
    if let Some((device, device_id)) = input.device {
        device_fields(json, input, device, device_id, what);
    }
    json.str("timezone", input.person.zone.name);
    if let Some(campaign_ref) = input.campaign {
        let c = campaign(campaign_ref.touch, campaign_ref.index);
        json.begin_object("campaign");
        json.str("name", c.name);
        json.str("source", c.source);
        json.str("medium", c.medium);
        json.str("content", c.content);
        json.end_object();
    }
    match input.channel {
        Channel::Email => {
            json.begin_object("traits");
            json.str("email", &input.contact.email);
            json.end_object();
        }
        Channel::Sms => {
            json.begin_object("traits");
            json.str("phone", &input.contact.phone);
            json.end_object();
        }
        Channel::CallCentre => external_id(json, &input.contact.phone, "phone"),
        Channel::Store => {
            external_id(json, &input.contact.loyalty_card, "loyalty_card");
            if let What::OrderCompleted {
                place: OrderPlace::Store(store),
                ..
            } = what
            {
                let (_, city, country) = STORES[usize::from(*store)];
                json.begin_object("location");
                json.str("city", city);
                json.str("country", country);
                json.end_object();
            }
        }
        _ => {}
    }
    json.end_object();
}

fn device_fields(
    json: &mut Json<'_>,
    input: &Input<'_>,
    device: &Device,
    device_id: u128,
    what: &What,
) {
    let locale = input.person.country.locale;
    match device.kind {
        DeviceKind::Desktop(i) | DeviceKind::MobileWeb(i) => {
            let browser = if matches!(device.kind, DeviceKind::Desktop(_)) {
                &DESKTOP_BROWSERS[usize::from(i)]
            } else {
                &MOBILE_BROWSERS[usize::from(i)]
            };
            json.ipv4("ip", device.ip);
            json.str("locale", locale);
            json.str("userAgent", browser.user_agent);
            // Page calls carry the full location in their properties already.
            if let (Some(view), false) = (input.page, matches!(what, What::View { .. })) {
                json.begin_object("page");
                super::properties::page_path_and_url(json, &view);
                json.end_object();
            }
        }
        DeviceKind::App(i) => {
            let phone = &PHONES[usize::from(i)];
            json.begin_object("app");
            json.str("name", APP_NAME);
            json.str("version", APP_VERSION);
            json.end_object();
            json.begin_object("device");
            json.uuid("id", device_id);
            json.str("manufacturer", phone.manufacturer);
            json.str("model", phone.model);
            json.str("type", phone.device_type);
            json.end_object();
            json.begin_object("os");
            json.str("name", phone.os_name);
            json.str("version", phone.os_version);
            json.end_object();
            json.ipv4("ip", device.ip);
            json.str("locale", locale);
        }
    }
}

/// Segment's `context.externalIds` shape.
fn external_id(json: &mut Json<'_>, id: &str, kind: &str) {
    json.begin_array("externalIds");
    json.begin_element();
    json.str("id", id);
    json.str("type", kind);
    json.str("collection", "users");
    json.str("encoding", "none");
    json.end_object();
    json.end_array();
}
