//! The in-memory broker.
