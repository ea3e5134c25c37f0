//! Platforms riff streaming runs on, besides the embedded one in [`crate::local`].

pub mod kubernetes;
