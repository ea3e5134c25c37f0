//! Function SDK for riff streaming: the invoker side of the riff RPC `streaming.Riff/Invoke`
//! (docs/riff-compatibility.md §5).
//!
//! A [`Function`] is served over gRPC by [`serve`]; each `Invoke` call is one invocation, which
//! gets the call's [`Inputs`] (input frames, per `argIndex`, in arrival order) and [`Outputs`]
//! (one per expected content type, in the negotiated type). Build functions with [`streaming`]
//! (any number of inputs and outputs) or [`request_reply`] (one value in, one value out).
//!
//! A [`Payload`] is bytes and their content type: the function decodes it if and when it needs
//! to ([`Payload::text`], [`Payload::json`]), and a payload forwarded unchanged leaves with the
//! bytes it came with.
//!
//! ```no_run
//! use riff_function::{request_reply, serve, BoxError, Payload, ServeError};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ServeError> {
//!     serve(request_reply(|payload: Payload| {
//!         Ok::<_, BoxError>(Payload::from(payload.text()?.to_uppercase()))
//!     }))
//!     .await
//! }
//! ```
//!
//! **Which runtime.** riff makes up to 8 calls to a function at once, each on a connection of
//! its own. A function that does little work per message (forwarding, filtering, a small
//! transformation) is cheapest on one thread, `#[tokio::main(flavor = "current_thread")]`:
//! a call's frames, its connection and the function then never cross threads (the
//! `pass-through` sample's choice). A function that computes for long per message wants tokio's
//! default multi-threaded runtime, which runs the calls in flight on every core.
//!
//! Failed calls end with the statuses of docs/riff-compatibility.md §5.5, all messages starting with `Invoker: `:
//! `Protocol Violation` (`UNKNOWN`), `Unsupported Media Type` and `Not Acceptable`
//! (`INVALID_ARGUMENT`), `Bad Input Signal`, `Bad Output Signal` and `Function Error`
//! (`UNKNOWN`). A failed call never stops the server.

mod content_type;
mod error;
mod function;
mod invocation;
mod payload;
mod queue;
mod server;
mod streams;

pub use content_type::Format;
pub use error::{BoxError, Error, ServeError};
pub use function::{request_reply, streaming, Function, RequestReply, Streaming};
pub use payload::{Headers, Message, Payload};
pub use server::{serve, serve_on, DEFAULT_PORT};
pub use streams::{Input, Inputs, Output, Outputs, Streams};
