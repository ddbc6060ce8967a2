//! Per-profile state kept by definition position rather than by name: a
//! profile's computed traits, implied traits and memberships are looked up
//! for every event, and name-keyed maps spent much of the engine's time
//! comparing strings (and a key's allocation per entry per profile).
//! Positions follow the definitions' order; deleting a definition removes
//! its position from every profile (see `removal.rs`).

/// Values by position, grown on first write; a missing one is the default.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Slots<T>(Vec<T>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: Default> Slots<T> {
    pub fn get(&self, index: usize) -> Option<&T> {
        self.0.get(index)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.0.get_mut(index)
    }

    /// The value at `index`, created (with any before it) if missing.
    pub fn entry(&mut self, index: usize) -> &mut T {
        if index >= self.0.len() {
            // Exact: most profiles never hold every definition's state.
            self.0.reserve_exact(index + 1 - self.0.len());
            self.0.resize_with(index + 1, T::default);
        }
        &mut self.0[index]
    }

    /// Drops position `index`; later positions move down one.
    pub fn remove(&mut self, index: usize) {
        if index < self.0.len() {
            self.0.remove(index);
        }
    }

    /// `(position, value)` of every value held.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.0.iter().enumerate()
    }

    /// Folds `other` in, position by position.
    pub fn merge_with(&mut self, other: Self, mut fold: impl FnMut(&mut T, T)) {
        for (index, value) in other.0.into_iter().enumerate() {
            fold(self.entry(index), value);
        }
    }
}
