//! note (in progress)
