//! Supervision: backoff and restart logs.
