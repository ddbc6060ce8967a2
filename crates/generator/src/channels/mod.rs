//! The channels a journey crosses. Each module extends `Journey` with the
//! events of one family of touchpoints.

mod commerce;
mod marketing;
mod service;
mod sessions;

pub(crate) use commerce::STORE_PAYMENT_METHODS;
pub(crate) use service::{CALL_REASONS, TICKET_TOPICS};
