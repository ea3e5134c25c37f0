//! Embedded platform.
