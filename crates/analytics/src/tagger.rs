//! How a query marks the rows it cares about: each row gets a bit mask of
//! the conditions it meets (funnel steps, exclusions, ...) and a group (a
//! breakdown value's code), decided by the activity name where possible,
//! by the row's properties where a condition needs them.

/// What rows of one activity get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// The name decides: every row of the activity gets this.
    Fixed { mask: u64, group: u32 },
    /// Each row's properties decide: [`Tagger::row`] is asked.
    PerRow,
}

pub trait Tagger: Sync + std::fmt::Debug {
    fn activity(&self, name: &str) -> Tag;

    /// The mask and group of one row whose activity was tagged
    /// [`Tag::PerRow`]; `properties` is the row's JSON text.
    fn row(&self, activity: &str, properties: Option<&str>) -> (u64, u32) {
        let _ = (activity, properties);
        (0, 0)
    }

    /// Whether any row may need its properties.
    fn wants_properties(&self) -> bool {
        false
    }
}

/// Marks nothing: for kernels that only need activities and times.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTags;

impl Tagger for NoTags {
    fn activity(&self, _name: &str) -> Tag {
        Tag::Fixed { mask: 0, group: 0 }
    }
}
