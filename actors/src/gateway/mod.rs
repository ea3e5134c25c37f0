//! Gateway APIs over a broker.
