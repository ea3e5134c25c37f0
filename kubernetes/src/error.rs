//! Why a reconcile pass failed; the pass is retried with backoff.

/// A failed reconcile pass.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A Kubernetes API call failed.
    #[error("{action} {what}: {source}")]
    Api {
        /// What was attempted: `get`, `create`, `update`, `delete`, `list`, `update status`.
        action: &'static str,
        /// The object, as `Kind namespace/name`.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A gateway's provisioner refused or could not be reached.
    #[error("{0}")]
    Provision(String),
    /// A ConfigMap the controller needs is missing or incomplete.
    #[error("{0}")]
    Configuration(String),
}

impl ReconcileError {
    /// An API error of `action` on `what`.
    pub fn api(action: &'static str, what: impl Into<String>, source: kube::Error) -> Self {
        ReconcileError::Api {
            action,
            what: what.into(),
            source,
        }
    }
}

/// The result of a reconcile step.
pub type Result<T, E = ReconcileError> = std::result::Result<T, E>;

/// Whether `error` is the API's 404.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Whether `error` is the API's 409 on create.
pub fn is_already_exists(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409 && status.reason == "AlreadyExists")
}
