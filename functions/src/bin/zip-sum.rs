//! `zip-sum`: two inputs (addressed by index: 0 and 1, whatever their names, e.g. `left` and
//! `right`) of JSON numbers, one output: the sum of the i-th number of input 0 and the i-th
//! number of input 1, in order. A number left without a partner when the other input completed
//! emits nothing; it is logged to stderr. A non-number fails the call.
//!
//! Env: `GRPC_PORT` (default 8081).

use std::collections::VecDeque;

use riff_function::{serve, streaming, BoxError, Inputs, Outputs, ServeError};
use riff_functions::{number, to_payload};

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    serve(streaming(zip_sum)).await
}

/// One invocation: zips input 0 with input 1 onto output 0.
async fn zip_sum(mut inputs: Inputs, mut outputs: Outputs) -> Result<(), BoxError> {
    let (mut left, mut right) = (inputs.take(0)?, inputs.take(1)?);
    let output = outputs.take(0)?;
    let mut pending = [VecDeque::new(), VecDeque::new()];
    let mut open = [true, true];
    while open[0] || open[1] {
        let (side, message) = tokio::select! {
            message = left.next(), if open[0] => (0, message),
            message = right.next(), if open[1] => (1, message),
        };
        let Some(message) = message else {
            open[side] = false;
            continue;
        };
        let value = number(&message.payload)?;
        let other = 1 - side;
        match pending[other].pop_front() {
            Some(partner) => {
                output.send(to_payload(value + partner)?).await?;
            }
            None if !open[other] => unpaired(side, value),
            None => pending[side].push_back(value),
        }
    }
    for (side, values) in pending.into_iter().enumerate() {
        values.into_iter().for_each(|value| unpaired(side, value));
    }
    Ok(())
}

/// Logs a number that has no partner on the other input.
fn unpaired(side: usize, value: f64) {
    eprintln!("zip-sum: dropping unpaired number {value} of input {side}");
}
