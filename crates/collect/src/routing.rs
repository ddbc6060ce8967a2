//! Which key routes an event to its partition.

use crate::normalize::NormalizedEvent;

/// Chooses the profile key an event is partitioned by. This is the seam
/// where identity resolution will answer with the resolved profile, so that
/// all of a person's events land in one partition.
pub trait ProfileKeyResolver: Send + Sync + std::fmt::Debug {
    fn profile_key<'a>(&self, event: &'a NormalizedEvent) -> &'a str;
}

/// Until identities are resolved: the user id when known, else the
/// anonymous id.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserOrAnonymousId;

impl ProfileKeyResolver for UserOrAnonymousId {
    fn profile_key<'a>(&self, event: &'a NormalizedEvent) -> &'a str {
        if event.user_id.is_empty() {
            &event.anonymous_id
        } else {
            &event.user_id
        }
    }
}
