//! Static pools the generator draws from: people, products, devices,
//! campaigns and pages. Everything is `'static` so events can refer to
//! entries by index or reference without allocating.

pub(crate) mod campaigns;
pub(crate) mod devices;
pub(crate) mod pages;
pub(crate) mod people;
pub(crate) mod products;
