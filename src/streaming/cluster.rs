//! The cluster of the current kubeconfig (`KUBECONFIG`, `~/.kube/config`, or in-cluster) and its
//! default namespace.

use anyhow::Context;

/// A connection to the cluster and the namespace the command works in.
pub struct Cluster {
    /// The API client.
    pub client: kube::Client,
    /// `-n/--namespace`, else the kubeconfig's namespace.
    pub namespace: String,
}

impl Cluster {
    /// Connects with the current kubeconfig; works in `namespace`, else the kubeconfig's.
    pub async fn connect(namespace: Option<String>) -> anyhow::Result<Cluster> {
        let config = kube::Config::infer()
            .await
            .context("no Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster)")?;
        let namespace = namespace.unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config).context("cannot create a Kubernetes client")?;
        Ok(Cluster { client, namespace })
    }

    /// The API of namespaced kind `K` in the command's namespace.
    pub fn api<K>(&self) -> kube::Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        kube::Api::namespaced(self.client.clone(), &self.namespace)
    }
}

/// The namespace of a dry run, which needs no cluster: `namespace`, else the kubeconfig's, else
/// `default`.
pub async fn offline_namespace(namespace: Option<String>) -> String {
    match namespace {
        Some(namespace) => namespace,
        None => kube::Config::infer()
            .await
            .map(|config| config.default_namespace)
            .unwrap_or_else(|_| riff_actors::resources::DEFAULT_NAMESPACE.to_owned()),
    }
}

/// An API error as the API server words it; any other error as it is.
pub fn api_error(error: kube::Error) -> anyhow::Error {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => anyhow::anyhow!(status.message),
        error => error.into(),
    }
}

/// Whether `error` is the API server's 404.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}
