//! Wire protocols of riff streaming, generated from `proto/` at build time.

/// The riff streaming RPC: `streaming.Riff/Invoke` (processor = client, invoker = server).
pub mod riff {
    tonic::include_proto!("streaming");
}

/// The liiklus gateway API: `com.github.bsideup.liiklus.LiiklusService`.
pub mod liiklus {
    tonic::include_proto!("com.github.bsideup.liiklus");
}
