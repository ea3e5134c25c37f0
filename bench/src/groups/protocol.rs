//! The protocol group: the SDK's `streaming.Riff/Invoke` against a bare tonic echo.

use crate::figures::Bench;
use crate::protocol;

/// `n` frames through the SDK's pass-through against the bare echo, each on one core.
pub async fn measure(n: usize, bench: &mut Bench) {
    let (ours, bare) = protocol::invoke_rate(n).await;
    bench.figure(
        "streaming.Riff/Invoke, SDK pass-through on 1 core".into(),
        ours,
        "bare tonic echo on 1 core",
        bare,
        "frames/s",
        Some("≥ 0.7 of the bare echo"),
        String::new(),
    );
}
