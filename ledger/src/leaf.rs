//! leaf (in progress)
