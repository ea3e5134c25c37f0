//! `flaky-square`: a test fixture, not a sample. It behaves like `square`, except that:
//!
//! - the process fails its first `FAIL_INVOCATIONS` invocations (default 0): each of those reads
//!   its whole input, then fails the call with `UNKNOWN` `Invoker: Function Error: ...`;
//! - a call whose input holds the number `FAIL_ON` fails the same way (a poison record);
//! - a call whose input holds the number `HANG_ON` never completes (a hung function).
//!
//! Each call reads its whole input before it answers. End-to-end tests use it to prove that the
//! runtime retries, times out and isolates failing windows.
//!
//! Env: `FAIL_INVOCATIONS`, `FAIL_ON`, `HANG_ON`, `GRPC_PORT` (default 8081).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use riff_function::{serve, streaming, BoxError, ServeError};
use riff_functions::{number, setting, square};

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    let failures: usize = setting("FAIL_INVOCATIONS", "0", |text| {
        text.parse()
            .map_err(|_| format!("expected a count, got {text:?}"))
    })?;
    let value = |text: &str| match text {
        "" => Ok(None),
        text => text
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("expected a number, got {text:?}")),
    };
    let fail_on = setting("FAIL_ON", "", value)?;
    let hang_on = setting("HANG_ON", "", value)?;
    let invocations = Arc::new(AtomicUsize::new(0));
    serve(streaming(move |mut inputs, mut outputs| {
        let invocation = invocations.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            let mut input = inputs.take(0)?;
            let mut payloads = Vec::new();
            while let Some(message) = input.next().await {
                payloads.push(message.payload);
            }
            if invocation <= failures {
                let reason = format!("fails invocation {invocation} of the first {failures}");
                return Err::<(), BoxError>(format!("flaky-square {reason} on purpose").into());
            }
            let values = payloads.iter().map(number).collect::<Result<Vec<_>, _>>()?;
            if values.iter().any(|x| Some(*x) == hang_on) {
                std::future::pending::<()>().await;
            }
            if let Some(poison) = values.iter().find(|x| Some(**x) == fail_on) {
                return Err(format!("flaky-square fails on {poison} on purpose").into());
            }
            let output = outputs.take(0)?;
            for payload in payloads {
                output.send(square(payload)?).await?;
            }
            Ok(())
        }
    }))
    .await
}
