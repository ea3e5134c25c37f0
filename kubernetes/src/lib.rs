//! riff streaming on Kubernetes: the controller, its reconcilers, and their building blocks.

pub mod children;
pub mod conditions;
pub mod context;
pub mod controller;
pub mod error;
pub mod owned;
pub mod provisioner;
pub mod reconcile;
pub mod status;
pub mod stored;
