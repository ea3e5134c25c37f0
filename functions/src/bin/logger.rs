//! `logger`: a function with inputs and no outputs (a sink). It prints every message of every
//! input to stdout, one line each: `<input name>: <payload>` (JSON and text as they are, raw
//! bytes as their count). Serves on `GRPC_PORT` (default 8081).

use riff_function::{serve, streaming, BoxError, Error, Format, Inputs, Outputs, ServeError};
use riff_functions as _;

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
                let payload = &message.payload;
                match payload.format() {
                    Format::Bytes => println!("{}: {} bytes", input.name(), payload.bytes().len()),
                    Format::Json | Format::Text => {
                        println!("{}: {}", input.name(), payload.text()?)
                    }
                }
            }
            Ok::<(), Error>(())
        }));
    }
    for reader in readers {
        reader.await??;
    }
    Ok(())
}
