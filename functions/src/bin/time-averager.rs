//! `time-averager`: the riff sample. Input 0 carries JSON numbers; output 0 gets the average of
//! the numbers received in each sub-window of `AVERAGE_OVER` (a Go-style duration, default
//! `10s`), sub-windows being measured from the invocation's first number. A sub-window without
//! numbers emits nothing; when the input completes, the last (partial) sub-window's average is
//! emitted if it received any number. A non-number fails the call.
//!
//! Env: `AVERAGE_OVER`, `GRPC_PORT` (default 8081).

use std::time::Duration;

use riff_function::{serve, streaming, BoxError, Inputs, Outputs, Payload, ServeError};
use riff_functions::{number, parse_duration, setting, to_payload};
use tokio::time::{sleep_until, Instant};

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    let period = setting("AVERAGE_OVER", "10s", parse_duration)?;
    serve(streaming(move |inputs, outputs| {
        average(inputs, outputs, period)
    }))
    .await
}

/// One invocation: averages input 0 per sub-window of `period` onto output 0.
async fn average(
    mut inputs: Inputs,
    mut outputs: Outputs,
    period: Duration,
) -> Result<(), BoxError> {
    let mut input = inputs.take(0)?;
    let output = outputs.take(0)?;
    let mut origin = None;
    let mut window: Option<Window> = None;
    loop {
        let message = match &window {
            Some(current) => tokio::select! {
                biased;
                () = sleep_until(current.end) => {
                    output.send(current.average()?).await?;
                    window = None;
                    continue;
                }
                message = input.next() => message,
            },
            None => input.next().await,
        };
        let Some(message) = message else { break };
        let value = number(&message.payload)?;
        let now = Instant::now();
        let origin = *origin.get_or_insert(now);
        let current = window.get_or_insert_with(|| Window::containing(now, origin, period));
        current.sum += value;
        current.count += 1;
    }
    if let Some(last) = window {
        output.send(last.average()?).await?;
    }
    Ok(())
}

/// A sub-window that received numbers.
struct Window {
    end: Instant,
    sum: f64,
    count: u64,
}

impl Window {
    /// The (empty) sub-window containing `now`, sub-windows of `period` starting at `origin`.
    fn containing(now: Instant, origin: Instant, period: Duration) -> Self {
        let index = now.duration_since(origin).as_nanos() / period.as_nanos();
        let end = origin + Duration::from_nanos((period.as_nanos() * (index + 1)) as u64);
        Window {
            end,
            sum: 0.0,
            count: 0,
        }
    }

    fn average(&self) -> Result<Payload, String> {
        to_payload(self.sum / self.count as f64)
    }
}
