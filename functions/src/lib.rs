//! Sample functions for riff streaming, built with the `riff-function` SDK: one binary each in
//! `src/bin/` (`square`, `time-averager`, `zip-sum`, `logger`, `pass-through`, and the test
//! fixture `flaky-square`). This library holds what they share: JSON numbers,
//! Go-style durations, environment settings and the allocator.

mod duration;
mod numbers;
mod settings;

pub use duration::parse_duration;
pub use numbers::{number, square, to_payload};
pub use settings::setting;

/// Every sample's allocator: mimalloc, cheaper than the system's for the small allocations of
/// each frame (a binary gets it by linking this library, hence the `use riff_functions as _`
/// of those that use nothing else from it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
