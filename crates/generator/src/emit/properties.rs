//! `properties` of page, screen and track messages, in Segment spec names
//! (e-commerce, e-mail, and our own for calls, tickets and surveys).

use super::json::Json;
use super::{CurrentView, Keys};
use crate::catalog::campaigns::{campaign, referrer_of, Campaign};
use crate::catalog::pages::{Page, SHOP_ORIGIN};
use crate::catalog::products::{
    Product, CURRENCY, FREE_SHIPPING_FROM_CENTS, PAYMENT_METHODS, PRODUCTS, SHIPPING_CENTS, STORES,
};
use crate::channels::STORE_PAYMENT_METHODS;
use crate::channels::{CALL_REASONS, TICKET_TOPICS};
use crate::event::{Basket, OrderPlace, What};
use crate::ids::Salt;
use crate::model::Touch;

const TITLE_SUFFIX: &str = " | Percorso Shop";

/// Properties of a `page` (web) or `screen` (app) call.
pub(crate) fn view(json: &mut Json<'_>, view: Option<CurrentView>, on_app: bool) {
    json.begin_object("properties");
    if let Some(view) = view {
        if on_app {
            json.str("name", view.page.name());
            if view.page == Page::Product {
                json.str("product_id", product_id(product(view.product)));
            }
        } else {
            page_location(json, &view);
        }
    }
    json.end_object();
}

/// `path`, `referrer`, `search` (when there is one), `title`, `url` of a page.
pub(crate) fn page_location(json: &mut Json<'_>, view: &CurrentView) {
    let location = Location::of(view);
    json.str_parts("path", &[view.page.path(), location.slug]);
    match location.utm {
        Some(c) => json.str("referrer", referrer_of(c.source)),
        None => json.str_parts("referrer", &[SHOP_ORIGIN, "/"]),
    }
    if !location.search[0].is_empty() {
        json.str_parts("search", &location.search);
    }
    let item = product(view.product);
    if view.page == Page::Product {
        json.str_parts("title", &[item.name, TITLE_SUFFIX]);
    } else {
        json.str_parts("title", &[view.page.name(), TITLE_SUFFIX]);
    }
    location.url(json, view);
}

/// The short `context.page` of track calls: where the device is.
pub(crate) fn page_path_and_url(json: &mut Json<'_>, view: &CurrentView) {
    let location = Location::of(view);
    json.str_parts("path", &[view.page.path(), location.slug]);
    location.url(json, view);
}

/// The variable parts of a shop URL.
struct Location {
    slug: &'static str,
    utm: Option<&'static Campaign>,
    /// Query string pieces; empty strings when there is no query.
    search: [&'static str; 8],
}

impl Location {
    fn of(view: &CurrentView) -> Self {
        let item = product(view.product);
        let slug = match view.page {
            Page::Product => item.sku,
            Page::Category => item.category,
            _ => "",
        };
        let utm = view.campaign.map(|c| campaign(c.touch, c.index));
        let search = match (utm, view.page) {
            (Some(c), _) => [
                "?utm_source=",
                c.source,
                "&utm_medium=",
                c.medium,
                "&utm_campaign=",
                c.name,
                "&utm_content=",
                c.content,
            ],
            (None, Page::Search) => ["?q=", item.category, "", "", "", "", "", ""],
            (None, _) => [""; 8],
        };
        Location { slug, utm, search }
    }

    fn url(&self, json: &mut Json<'_>, view: &CurrentView) {
        let mut url = [""; 11];
        url[0] = SHOP_ORIGIN;
        url[1] = view.page.path();
        url[2] = self.slug;
        url[3..].copy_from_slice(&self.search);
        json.str_parts("url", &url);
    }
}

fn product(index: u8) -> &'static Product {
    &PRODUCTS[usize::from(index) % PRODUCTS.len()]
}

/// The catalogue number, the SKU without its category prefix.
fn product_id(item: &Product) -> &'static str {
    &item.sku[3..]
}

fn product_fields(json: &mut Json<'_>, item: &'static Product) {
    json.str("product_id", product_id(item));
    json.str("sku", item.sku);
    json.str("name", item.name);
    json.str("category", item.category);
    json.str("brand", item.brand);
    json.money("price", u64::from(item.price_cents));
}

fn products(json: &mut Json<'_>, basket: &Basket) {
    json.begin_array("products");
    for &(index, quantity) in basket.lines() {
        json.begin_element();
        product_fields(json, product(index));
        json.u64("quantity", u64::from(quantity));
        json.end_object();
    }
    json.end_array();
}

fn shipping_cents(basket: &Basket) -> u64 {
    if basket.subtotal_cents() >= FREE_SHIPPING_FROM_CENTS {
        0
    } else {
        SHIPPING_CENTS
    }
}

/// Properties of a track call.
pub(crate) fn track(json: &mut Json<'_>, keys: Keys, what: &What, on_app: bool) {
    json.begin_object("properties");
    match *what {
        What::ProductViewed { product: p } => {
            product_fields(json, product(p));
            json.str("currency", CURRENCY);
        }
        What::ProductAdded {
            product: p,
            quantity,
            cart,
        } => {
            json.hex_id("cart_id", "cart_", keys.of(Salt::Cart, cart));
            product_fields(json, product(p));
            json.u64("quantity", u64::from(quantity));
            json.str("currency", CURRENCY);
        }
        What::CheckoutStarted { basket, order } => {
            json.hex_id("order_id", "ord_", keys.of(Salt::Order, order));
            json.money("value", basket.subtotal_cents());
            json.money("revenue", basket.subtotal_cents());
            json.money("shipping", shipping_cents(&basket));
            json.str("currency", CURRENCY);
            products(json, &basket);
        }
        What::PaymentInfoEntered { order, method } => {
            json.hex_id("checkout_id", "chk_", keys.of(Salt::Order, order));
            json.hex_id("order_id", "ord_", keys.of(Salt::Order, order));
            json.str("payment_method", PAYMENT_METHODS[usize::from(method)]);
        }
        What::OrderCompleted {
            basket,
            order,
            method,
            place,
        } => order_completed(json, keys, &basket, order, method, place),
        What::SignedIn { .. } => {
            json.str("method", if on_app { "app_login" } else { "password" });
        }
        What::AdClicked { campaign: c } | What::SocialPostClicked { campaign: c } => {
            let touch = if matches!(what, What::AdClicked { .. }) {
                Touch::Ads
            } else {
                Touch::Social
            };
            let details = campaign(touch, c);
            json.str_parts("creative_id", &[details.name, "-", details.content]);
            json.str("campaign_name", details.name);
            json.str("network", details.source);
        }
        What::EmailSent { campaign: c, email }
        | What::EmailOpened { campaign: c, email }
        | What::EmailLinkClicked { campaign: c, email } => {
            let details = campaign(Touch::Email, c);
            json.hex_id("email_id", "em_", keys.of(Salt::Email, email));
            json.str("campaign_name", details.name);
            if matches!(what, What::EmailLinkClicked { .. }) {
                json.str_parts("link_url", &[SHOP_ORIGIN, "/?utm_campaign=", details.name]);
            }
        }
        What::SmsSent { campaign: c, sms } | What::SmsLinkClicked { campaign: c, sms } => {
            let details = campaign(Touch::Sms, c);
            json.hex_id("sms_id", "sms_", keys.of(Salt::Sms, sms));
            json.str("campaign_name", details.name);
            if matches!(what, What::SmsLinkClicked { .. }) {
                json.str_parts("link_url", &[SHOP_ORIGIN, "/?utm_campaign=", details.name]);
            }
        }
        What::CallStarted(call) => {
            json.hex_id("call_id", "call_", keys.of(Salt::Call, call.number));
            json.str("reason", CALL_REASONS[usize::from(call.reason)]);
            json.str("direction", "inbound");
        }
        What::CallEnded(call) => {
            json.hex_id("call_id", "call_", keys.of(Salt::Call, call.number));
            json.str("reason", CALL_REASONS[usize::from(call.reason)]);
            json.u64("duration_seconds", u64::from(call.duration_seconds));
            json.bool("resolved", call.resolved);
            json.u64("agent_id", u64::from(call.agent));
        }
        What::TicketOpened(ticket) => {
            json.hex_id("ticket_id", "tkt_", keys.of(Salt::Ticket, ticket.number));
            json.str("topic", TICKET_TOPICS[usize::from(ticket.topic)]);
            json.str("via", ticket.via.as_str());
        }
        What::TicketResolved { ticket, hours } => {
            json.hex_id("ticket_id", "tkt_", keys.of(Salt::Ticket, ticket.number));
            json.str("topic", TICKET_TOPICS[usize::from(ticket.topic)]);
            json.u64("resolution_hours", u64::from(hours));
        }
        What::NpsAnswered { score } => {
            json.str("survey_id", "nps_relationship");
            json.u64("score", u64::from(score));
            let category = match score {
                9.. => "promoter",
                7..=8 => "passive",
                _ => "detractor",
            };
            json.str("category", category);
        }
        What::CsatAnswered { score, call } => {
            json.str("survey_id", "csat_call");
            json.hex_id("call_id", "call_", keys.of(Salt::Call, call));
            json.u64("score", u64::from(score));
        }
        What::View { .. } | What::Identify | What::Alias | What::Group { .. } => {}
    }
    json.end_object();
}

fn order_completed(
    json: &mut Json<'_>,
    keys: Keys,
    basket: &Basket,
    order: u16,
    method: u8,
    place: OrderPlace,
) {
    let revenue = basket.subtotal_cents();
    json.hex_id("order_id", "ord_", keys.of(Salt::Order, order));
    match place {
        OrderPlace::Online => {
            let shipping = shipping_cents(basket);
            json.hex_id("checkout_id", "chk_", keys.of(Salt::Order, order));
            json.money("total", revenue + shipping);
            json.money("revenue", revenue);
            json.money("shipping", shipping);
            json.str("payment_method", PAYMENT_METHODS[usize::from(method)]);
        }
        OrderPlace::Store(store) => {
            json.str("store_id", STORES[usize::from(store)].0);
            json.money("total", revenue);
            json.money("revenue", revenue);
            json.str("payment_method", STORE_PAYMENT_METHODS[usize::from(method)]);
        }
    }
    json.str("currency", CURRENCY);
    products(json, basket);
}
