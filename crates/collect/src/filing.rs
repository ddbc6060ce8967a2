//! Under which keys a record is filed in the event index, and which keys a
//! lookup reads (see `index` for why ids are filed only when stray).

use percorso_identity::{IdKind as IdentifierKind, Identifier, PagedGraph};
use percorso_log::RecordLocation;
use percorso_store::StoreError;

use crate::index::{IdKind, IndexKey, IndexedEvent};

/// The ids a record carries, as stored: `[user_id, anonymous_id, profile_id]`.
pub(crate) type RecordIds<'a> = [&'a str; 3];

/// The identity graph's kind for an index kind; a profile id is none.
fn identifier_kind(kind: IdKind) -> Option<&'static str> {
    match kind {
        IdKind::UserId => Some(IdentifierKind::USER_ID),
        IdKind::AnonymousId => Some(IdentifierKind::ANONYMOUS_ID),
        IdKind::Profile => None,
    }
}

fn identifier(kind: IdKind, id: &str) -> Option<Identifier> {
    identifier_kind(kind).map(|kind| Identifier::new(kind, id))
}

/// A record's user id and anonymous id as identifiers.
pub(crate) fn identifiers(ids: [&str; 2]) -> [Identifier; 2] {
    let kinds = [IdentifierKind::USER_ID, IdentifierKind::ANONYMOUS_ID];
    std::array::from_fn(|i| Identifier::new(kinds[i], ids[i]))
}

/// Files `event` under its profile, and under each of its user and
/// anonymous ids that `graph` does not lead to that profile (or that it
/// could not tell: an extra key costs a lookup a record to skip). `leads`
/// answers for the user and anonymous id when resolution already told.
pub(crate) fn file(
    graph: &mut PagedGraph,
    [user_id, anonymous_id, profile_id]: RecordIds<'_>,
    leads: [Option<bool>; 2],
    event: IndexedEvent,
    out: &mut Vec<(IndexKey, IndexedEvent)>,
) {
    if !profile_id.is_empty() {
        out.push((IndexKey::profile(profile_id), event));
    }
    for ((kind, id), told) in [
        (IdKind::UserId, user_id),
        (IdKind::AnonymousId, anonymous_id),
    ]
    .into_iter()
    .zip(leads)
    {
        if id.is_empty() {
            continue;
        }
        let found = !profile_id.is_empty()
            && told.unwrap_or_else(|| {
                identifier(kind, id).is_some_and(|i| match graph.leads_to(&i, profile_id) {
                    Ok(found) => found,
                    Err(e) => {
                        tracing::warn!(error = %e, "filed an id as stray: the identity graph could not be read");
                        false
                    }
                })
            });
        if !found {
            out.push((IndexKey::new(kind, id), event));
        }
    }
}

/// Every key a record may have been filed under: the graph may have grown
/// since, so whether an id was stray then is not known now.
pub(crate) fn every_key([user_id, anonymous_id, profile_id]: RecordIds<'_>) -> Vec<IndexKey> {
    [
        (IdKind::UserId, user_id),
        (IdKind::AnonymousId, anonymous_id),
        (IdKind::Profile, profile_id),
    ]
    .into_iter()
    .filter(|(_, id)| !id.is_empty())
    .map(|(kind, id)| IndexKey::new(kind, id))
    .collect()
}

/// Every (key, record) pair the records may be filed under, for an
/// erasure: records given with their ids as stored.
pub(crate) fn filed_under(
    records: &[(RecordLocation, [String; 3])],
) -> Vec<(IndexKey, RecordLocation)> {
    records
        .iter()
        .flat_map(|(location, ids)| {
            let keys = every_key(ids.each_ref().map(String::as_str));
            keys.into_iter().map(|key| (key, *location))
        })
        .collect()
}

/// The keys to read for the events of `ids` of one kind, and the profiles
/// behind them: a profile id reads its own key; a user or anonymous id its
/// stray key and the keys of its owner and every profile merged into that.
pub(crate) fn lookup_keys(
    graph: &mut PagedGraph,
    kind: IdKind,
    ids: &[String],
) -> Result<Vec<IndexKey>, StoreError> {
    let mut keys = Vec::new();
    for id in ids {
        keys.push(IndexKey::new(kind, id));
        let owner = match identifier(kind, id) {
            Some(identifier) => graph.profile_of(&identifier)?,
            None => None,
        };
        if let Some(owner) = owner {
            let family = graph.family(&owner)?.unwrap_or_default();
            keys.extend(family.iter().map(|p| IndexKey::profile(&p.0)));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use percorso_identity::IdentityRules;
    use serde_json::json;

    use super::*;

    fn event(offset: u64) -> IndexedEvent {
        IndexedEvent {
            location: RecordLocation {
                partition: 0,
                offset,
                segment: 0,
                position: offset,
            },
            timestamp: 0,
        }
    }

    #[test]
    fn ids_the_graph_leads_to_the_profile_are_not_filed_again() {
        let mut graph = PagedGraph::in_memory(IdentityRules::default());
        let ada = graph
            .resolve_event(&json!({ "userId": "ada", "anonymousId": "a1" }), &[])
            .unwrap();
        let ada = ada.profile.unwrap().0;
        // a1 is ada's, and one profile holds one user id: bob gets a
        // profile of his own and a1 is dropped from his match, so the
        // graph does not lead a1 to bob's event.
        let mixed = graph
            .resolve_event(&json!({ "userId": "bob", "anonymousId": "a1" }), &[])
            .unwrap();
        let bob = mixed.profile.unwrap().0;
        assert_ne!(bob, ada);
        let mut out = Vec::new();
        file(
            &mut graph,
            ["ada", "a1", &ada],
            [None; 2],
            event(1),
            &mut out,
        );
        assert_eq!(out, [(IndexKey::profile(&ada), event(1))]);
        out.clear();
        file(
            &mut graph,
            ["bob", "a1", &bob],
            [None; 2],
            event(2),
            &mut out,
        );
        let keys: Vec<IndexKey> = out.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                IndexKey::profile(&bob),
                IndexKey::new(IdKind::AnonymousId, "a1")
            ]
        );
        out.clear();
        // What resolution told is taken as it is: no lookup.
        let told = [Some(false), Some(true)];
        file(&mut graph, ["ada", "a1", &ada], told, event(4), &mut out);
        let keys: Vec<IndexKey> = out.iter().map(|(k, _)| *k).collect();
        let ada_key = IndexKey::new(IdKind::UserId, "ada");
        assert_eq!(keys, [IndexKey::profile(&ada), ada_key]);
        out.clear();
        file(
            &mut graph,
            ["anonymous", "", ""],
            [None; 2],
            event(3),
            &mut out,
        );
        assert_eq!(
            out,
            [(IndexKey::new(IdKind::UserId, "anonymous"), event(3))]
        );
        let lookup = lookup_keys(&mut graph, IdKind::AnonymousId, &["a1".to_owned()]).unwrap();
        assert!(lookup.contains(&IndexKey::profile(&ada)));
        assert!(lookup.contains(&IndexKey::new(IdKind::AnonymousId, "a1")));
    }
}
