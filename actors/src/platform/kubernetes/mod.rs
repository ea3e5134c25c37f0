//! riff streaming on Kubernetes: the reconcilers' building blocks.

pub mod children;
pub mod conditions;
