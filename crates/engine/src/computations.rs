//! What profiles keep state for. Each computed trait, and each event or
//! last-seen condition of a segment, asks for a computation; definitions
//! that ask for the same one share a single state per profile, kept once
//! per event. Segments are often written over the same few conditions
//! ("ordered in the last 30 days" at several thresholds, a computed
//! trait's own events): kept apart, each copy cost the same time on every
//! event, the same memory per profile and the same bytes per checkpoint.

use percorso_profiles::ComputedTrait;

use crate::definitions::Definitions;
use crate::removal::{Removal, SlotKind};

/// One computation and, while its first definition is back-filled, that
/// definition's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Computation {
    /// What is computed; its name is that of the definition that first
    /// asked for it (names play no part in sharing).
    pub definition: ComputedTrait,
    /// The definition whose back-fill is filling this computation over the
    /// events before its cut, while it is: live events before the cut are
    /// left to that back-fill. Only complete computations are shared, so
    /// a half-filled one has no other reader, and deleting its definition
    /// deletes it.
    pub filler: Option<String>,
}

impl Definitions {
    /// The position of a complete computation that computes what
    /// `definition` does, else of a new one, filled by `filler`'s back-fill
    /// if it has one.
    pub(crate) fn computation_for(
        &mut self,
        definition: &ComputedTrait,
        filler: Option<&str>,
    ) -> usize {
        let shared = self
            .computations
            .iter()
            .position(|c| c.filler.is_none() && c.definition.same_computation(definition));
        shared.unwrap_or_else(|| {
            self.computations.push(Computation {
                definition: definition.clone(),
                filler: filler.map(str::to_owned),
            });
            self.computations.len() - 1
        })
    }

    /// Computations in order of first use by the computed traits, then the
    /// segments, each complete: the layout of definitions stored before
    /// computations were shared (their state is rebuilt from the log).
    pub(crate) fn lay_out_computations(&mut self) {
        self.computations.clear();
        let computed = std::mem::take(&mut self.computed);
        self.computed_slots = computed
            .iter()
            .map(|c| self.computation_for(c, None))
            .collect();
        self.computed = computed;
        let mut segments = std::mem::take(&mut self.segments);
        for segment in &mut segments {
            segment.slots = segment
                .compiled
                .implied
                .iter()
                .map(|c| self.computation_for(c, None))
                .collect();
        }
        self.segments = segments;
    }

    /// Whether every definition's slots name a computation that computes
    /// what it asks for.
    pub(crate) fn slots_agree(&self) -> bool {
        let agrees = |slot: &usize, wanted: &ComputedTrait| {
            self.computations
                .get(*slot)
                .is_some_and(|c| c.definition.same_computation(wanted))
        };
        self.computed_slots.len() == self.computed.len()
            && self
                .computed_slots
                .iter()
                .zip(&self.computed)
                .all(|(s, c)| agrees(s, c))
            && self.segments.iter().all(|segment| {
                let implied = &segment.compiled.implied;
                segment.slots.len() == implied.len()
                    && segment.slots.iter().zip(implied).all(|(s, c)| agrees(s, c))
            })
    }

    /// Drops every computation no definition reads any more, recording
    /// each removal (to take out of stored states when they are read).
    pub(crate) fn drop_unused_computations(&mut self) -> Vec<Removal> {
        let mut removals = Vec::new();
        let mut position = self.computations.len();
        while position > 0 {
            position -= 1;
            let used = self.computed_slots.contains(&position)
                || self.segments.iter().any(|s| s.slots.contains(&position));
            if used {
                continue;
            }
            self.computations.remove(position);
            let shift = |slot: &mut usize| {
                if *slot > position {
                    *slot -= 1;
                }
            };
            self.computed_slots.iter_mut().for_each(shift);
            for segment in &mut self.segments {
                segment.slots.iter_mut().for_each(shift);
            }
            removals.push(self.record_removal(SlotKind::Computation, position));
        }
        removals
    }

    /// The back-fill of `name` is complete: its computations are whole.
    pub(crate) fn filled(&mut self, name: &str) {
        for computation in &mut self.computations {
            if computation.filler.as_deref() == Some(name) {
                computation.filler = None;
            }
        }
    }

    /// The positions `name`'s back-fill fills.
    pub(crate) fn filled_by(&self, name: &str) -> Vec<usize> {
        self.computations
            .iter()
            .enumerate()
            .filter(|(_, c)| c.filler.as_deref() == Some(name))
            .map(|(position, _)| position)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::removal::SlotKind;

    fn count(name: &str, event: &str, window: Option<u32>) -> ComputedTrait {
        serde_json::from_value(serde_json::json!({
            "name": name, "event": event, "aggregation": "count", "window_days": window
        }))
        .unwrap()
    }

    #[test]
    fn only_a_complete_computation_is_shared() {
        let mut definitions = Definitions::default();
        let first = definitions.computation_for(&count("a", "Order", Some(7)), Some("a"));
        // Still being back-filled by `a`: a second reader gets its own.
        let second = definitions.computation_for(&count("b", "Order", Some(7)), Some("b"));
        assert_ne!(first, second);
        definitions.filled("a");
        assert_eq!(definitions.filled_by("b"), [second]);
        let third = definitions.computation_for(&count("c", "Order", Some(7)), Some("c"));
        assert_eq!(third, first, "complete and the same: shared");
        let other = definitions.computation_for(&count("d", "Order", Some(30)), Some("d"));
        assert_eq!(other, 2, "another window is another computation");
        assert!(definitions.filled_by("c").is_empty());
    }

    #[test]
    fn unused_computations_go_and_later_slots_move_down() {
        let mut definitions = Definitions::default();
        for (name, event) in [("a", "A"), ("b", "B"), ("c", "C")] {
            let definition = count(name, event, None);
            let slot = definitions.computation_for(&definition, None);
            definitions.computed.push(definition);
            definitions.computed_slots.push(slot);
        }
        definitions.computed.remove(1);
        definitions.computed_slots.remove(1);
        let removals = definitions.drop_unused_computations();
        assert_eq!(removals.len(), 1);
        assert_eq!(
            (removals[0].kind, removals[0].position),
            (SlotKind::Computation, 1)
        );
        assert_eq!(definitions.computed_slots, [0, 1]);
        assert!(definitions.slots_agree());
        assert_eq!(
            definitions.computations[1].definition.event.as_deref(),
            Some("C")
        );
    }
}
