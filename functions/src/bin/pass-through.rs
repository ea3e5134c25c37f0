//! `pass-through`: a request/reply function that returns each message as it came, headers
//! included: the trivial function of the pass-through benchmarks. Payloads are never decoded:
//! each reply carries the request's bytes (and content type, when the output expects it).
//! Serves on `GRPC_PORT` (default 8081), on one thread: it does too little per call to gain
//! from more (the SDK's "Which runtime").

use std::convert::Infallible;

use riff_function::{request_reply, serve, Payload, ServeError};
use riff_functions as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ServeError> {
    serve(request_reply(|payload: Payload| {
        Ok::<_, Infallible>(payload)
    }))
    .await
}
