//! Processor data plane.
