//! New definitions on a running book: a segment or computed trait declared
//! while events already exist is back-filled over the log up to a cut, and
//! takes live events from the cut on, so no event counts twice.

use std::collections::HashMap;

use percorso_profiles::ComputedTrait;

use crate::book::ProfileBook;
use crate::definitions::SegmentEntry;
use crate::input::Record;

impl ProfileBook {
    /// Adds a segment. `cut` is each partition's end offset when it was
    /// added: records before it come through [`ProfileBook::backfill`].
    pub fn add_segment(&mut self, mut entry: SegmentEntry, cut: Vec<u64>) {
        let name = entry.name.clone();
        entry.generation = self.definitions.next_generation;
        self.definitions.next_generation += 1;
        entry.slots = entry
            .compiled
            .implied
            .iter()
            .map(|implied| self.definitions.computation_for(implied, Some(&name)))
            .collect();
        self.definitions.segments.push(entry);
        self.definitions.reindex();
        self.cuts.insert(name, cut);
    }

    pub fn add_trait(&mut self, definition: ComputedTrait, cut: Vec<u64>) {
        let name = definition.name.clone();
        let slot = self.definitions.computation_for(&definition, Some(&name));
        self.definitions.computed.push(definition);
        self.definitions.computed_slots.push(slot);
        self.definitions.reindex();
        self.cuts.insert(name, cut);
    }

    /// Applies records read by the back-fill of definition `name` to the
    /// computations it fills (those it shares were complete already).
    pub fn backfill(&mut self, name: &str, records: &[Record], now: i64) {
        let filled = self.definitions.filled_by(name);
        if filled.is_empty() {
            return;
        }
        for record in records {
            let before_cut = self.cuts.get(name).is_some_and(|cut| {
                cut.get(usize::from(record.location.partition))
                    .is_some_and(|&c| record.location.offset < c)
            });
            // The engine's own membership statements feed no definition
            // (as when applied live).
            if !before_cut || record.profile.is_empty() || record.stated.is_some() {
                continue;
            }
            let matching = filled.iter().filter(|&&position| {
                self.definitions.computations[position]
                    .definition
                    .matches(&record.event)
            });
            if matching.clone().next().is_none() {
                continue;
            }
            let profile = self.canonical(&record.profile);
            let definitions = &self.definitions;
            let state = self.profiles.get_or_create(&profile, definitions);
            for &position in matching {
                let definition = &definitions.computations[position].definition;
                let trait_state = state.computations.entry(position);
                trait_state.apply_matched(definition, &record.event, record.timestamp, now);
            }
        }
    }

    /// The back-fill of `name` read everything before its cut: it now
    /// counts as complete (then judge everyone: [`ProfileBook::settle_page`]).
    pub fn finish_backfill(&mut self, name: &str) {
        self.cuts.remove(name);
        self.definitions.filled(name);
    }

    /// Whether definition `name` is still being back-filled.
    pub fn backfilling(&self, name: &str) -> bool {
        self.cuts.contains_key(name)
    }
}

/// Whether the segment, or a computed trait it reads, is still being
/// back-filled (a verdict now would rest on part of the history). `cuts`
/// are the back-filling definitions'.
pub(crate) fn backfilling_for(cuts: &HashMap<String, Vec<u64>>, segment: &SegmentEntry) -> bool {
    !cuts.is_empty()
        && (cuts.contains_key(&segment.name)
            || segment.trait_names.iter().any(|t| cuts.contains_key(t)))
}
