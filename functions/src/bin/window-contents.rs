//! `window-contents`: shows what each call got. When its input 0 completes, it sends output 0
//! one JSON array of the call's payloads as text, in the order they came (nothing for an empty
//! call). The witness of the window tests and benchmarks. Serves on `GRPC_PORT` (default 8081).

use riff_function::{serve, streaming, BoxError, Inputs, Outputs, Payload, ServeError};
use riff_functions as _;

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    serve(streaming(contents)).await
}

/// One invocation: the payloads of input 0, as one array on output 0.
async fn contents(mut inputs: Inputs, mut outputs: Outputs) -> Result<(), BoxError> {
    let mut input = inputs.take(0)?;
    let output = outputs.take(0)?;
    let mut texts = Vec::new();
    while let Some(message) = input.next().await {
        texts.push(serde_json::Value::from(message.payload.text()?));
    }
    if !texts.is_empty() {
        output
            .send(Payload::from(serde_json::Value::Array(texts)))
            .await?;
    }
    Ok(())
}
