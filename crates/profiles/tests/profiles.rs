//! Profiles: computed traits and segments through the public API.

mod profiles {
    pub mod computed;
    pub mod segments;
    pub mod traits;
}
