//! `flaky-square`: a test fixture, not a sample. It behaves like `square`, except that the
//! process fails its first `FAIL_INVOCATIONS` invocations (default 1): each of those reads its
//! whole input, then fails the call with `UNKNOWN` `Invoker: Function Error: ...`. End-to-end
//! tests use it to prove that the runtime retries a failed window.
//!
//! Env: `FAIL_INVOCATIONS`, `GRPC_PORT` (default 8081).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use riff_function::{request_reply, serve, streaming, BoxError, Function, ServeError};
use riff_functions::setting;

#[tokio::main]
async fn main() -> Result<(), ServeError> {
    let failures: usize = setting("FAIL_INVOCATIONS", "1", |text| {
        text.parse()
            .map_err(|_| format!("expected a count, got {text:?}"))
    })?;
    let invocations = Arc::new(AtomicUsize::new(0));
    let square = Arc::new(request_reply(riff_functions::square));
    serve(streaming(move |mut inputs, outputs| {
        let invocation = invocations.fetch_add(1, Ordering::SeqCst) + 1;
        let square = square.clone();
        async move {
            if invocation > failures {
                return square.invoke(inputs, outputs).await;
            }
            let mut input = inputs.take(0)?;
            while input.next().await.is_some() {}
            Err::<(), BoxError>(
                format!(
                    "flaky-square fails invocation {invocation} of the first {failures} on purpose"
                )
                .into(),
            )
        }
    }))
    .await
}
