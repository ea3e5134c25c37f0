//! `logger`: a function with inputs and no outputs (a sink). It prints every message of every
//! input to stdout, one line each: `<input name>: <payload>`. Serves on `GRPC_PORT` (default 8081).

use riff_function::{serve, streaming, BoxError, Inputs, Outputs, Payload, ServeError};

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    serve(streaming(log_all)).await
}

/// One invocation: prints the messages of each input as they arrive.
async fn log_all(mut inputs: Inputs, _: Outputs) -> Result<(), BoxError> {
    let mut readers = Vec::new();
    for index in 0..inputs.len() {
        let mut input = inputs.take(index)?;
        readers.push(tokio::spawn(async move {
            while let Some(message) = input.next().await {
                let text = match message.payload {
                    Payload::Json(value) => value.to_string(),
                    Payload::Text(text) => text,
                    Payload::Bytes(bytes) => format!("{} bytes", bytes.len()),
                };
                println!("{}: {text}", input.name());
            }
        }));
    }
    for reader in readers {
        reader.await?;
    }
    Ok(())
}
