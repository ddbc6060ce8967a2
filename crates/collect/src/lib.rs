//! collection layer
