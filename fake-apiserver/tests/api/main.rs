//! Integration tests: real kube-rs clients against the fake API server.

mod crud;
mod custom;
mod deletion;
mod kubeconfig;
mod logs;
mod raw;
mod watch;

use std::fmt::Debug;

/// The HTTP code of a `kube::Error::Api`, panicking on success or other errors.
pub fn api_code<T: Debug>(result: Result<T, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}
