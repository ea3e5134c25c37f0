//! What every test suite of riff-streaming (and its benchmarks) shares:
//!
//! - [`Child`]: a child process killed and reaped when dropped, and [`Logged`], one whose log
//!   lines (stderr, or stdout) are kept for the test to wait on and echoed to the test's output;
//!   [`run_with_input`], a run fed on stdin;
//! - [`eventually`], [`eventually_async`], [`within`] and [`stays`]: wait for a condition rather
//!   than sleeping, or check that one holds for a while (once the positive event it follows
//!   came);
//! - [`free_port`] and [`http`]: loopback ports and a plain HTTP/1.1 exchange;
//! - [`tansu_path`]: where the test broker is installed;
//! - [`OtlpReceiver`]: an OTLP/gRPC trace receiver, for processes that export traces.

mod broker;
mod net;
mod otlp;
mod process;
mod wait;

pub use broker::tansu_path;
pub use net::{free_port, http};
pub use otlp::{OtlpReceiver, Span};
pub use process::{run_with_input, Child, Logged};
pub use wait::{eventually, eventually_async, stays, within, within_every};
