//! Function SDK.
