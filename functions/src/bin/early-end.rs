//! `early-end`: a test fixture, not a sample. Each invocation reads only the first message of
//! its first input, sends it to its first output and completes the call successfully without
//! reading the rest: it ends its calls before the caller closed their input (a protocol
//! violation the runtime must take as a failed attempt, committing nothing it did not get
//! back). The fault-injection tests (`tests/faults`) use it.
//!
//! Env: `GRPC_PORT` (default 8081).

use riff_function::{serve, streaming, BoxError, ServeError};
use riff_functions as _;

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    serve(streaming(|mut inputs, mut outputs| async move {
        let mut input = inputs.take(0)?;
        let output = outputs.take(0)?;
        if let Some(first) = input.next().await {
            output.send(first).await?;
        }
        Ok::<(), BoxError>(())
    }))
    .await
}
