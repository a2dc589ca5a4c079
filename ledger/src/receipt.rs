//! receipt (in progress)
