//! The variants' journeys, stored one after another in chunks.
//!
//! At scale nearly every person's journey is a variant of its own, so the
//! arena holds about as many node indexes as the scan has events. Chunks
//! are allocated whole and never grow: adding a journey copies nothing
//! already stored, and merging two kernels adopts the other's chunks
//! instead of copying its journeys.

use super::kernel::NodeIndex;

/// Node indexes per chunk (a journey longer than this gets a chunk of its
/// own length).
const CHUNK: usize = 1 << 20;

/// Where a journey is: chunk, offset in it, and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    chunk: u32,
    offset: u32,
    len: u32,
}

#[derive(Debug, Default)]
pub struct JourneyArena {
    chunks: Vec<Vec<NodeIndex>>,
}

impl JourneyArena {
    pub fn push(&mut self, journey: &[NodeIndex]) -> Place {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= journey.len());
        if !fits {
            self.chunks
                .push(Vec::with_capacity(CHUNK.max(journey.len())));
        }
        let chunk = self.chunks.len() - 1;
        let last = &mut self.chunks[chunk];
        let offset = last.len();
        last.extend_from_slice(journey);
        Place {
            chunk: chunk as u32,
            offset: offset as u32,
            len: journey.len() as u32,
        }
    }

    pub fn get(&self, place: Place) -> &[NodeIndex] {
        let start = place.offset as usize;
        &self.chunks[place.chunk as usize][start..start + place.len as usize]
    }

    /// Takes `other`'s chunks; returns how to move a place of `other`'s
    /// into this arena.
    pub fn adopt(&mut self, other: JourneyArena) -> impl Fn(Place) -> Place {
        let base = self.chunks.len() as u32;
        self.chunks.extend(other.chunks);
        move |place| Place {
            chunk: place.chunk + base,
            ..place
        }
    }
}
