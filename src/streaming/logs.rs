//! Pod logs, as riff's tail printed them: `<namespace>/<pod>[<container>]: <line>`, following
//! the pods of a label selector as they come and go.

use std::collections::HashSet;
use std::pin::pin;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::runtime::watcher;
use kube::runtime::WatchStreamExt;
use kube::{Api, Client, ResourceExt};
use tokio::task::JoinSet;

/// How often a log that cannot be opened yet (container not started) is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Prints, from `since` ago, the logs of `containers` (every container when empty) of the pods
/// of `namespace` that match `selector`, including pods that appear later. Runs until dropped.
pub async fn follow(
    client: Client,
    namespace: &str,
    selector: &str,
    containers: &[&str],
    since: Duration,
) {
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    let config = watcher::Config::default().labels(selector);
    let mut events = pin!(watcher::watcher(pods.clone(), config)
        .default_backoff()
        .applied_objects());
    let mut followed = HashSet::new();
    let mut tailing = JoinSet::new();
    while let Some(event) = events.next().await {
        let pod = match event {
            Ok(pod) => pod,
            Err(error) => {
                eprintln!("watching pods {selector}: {error}");
                continue;
            }
        };
        let names: Vec<String> = match containers {
            [] => pod
                .spec
                .iter()
                .flat_map(|spec| &spec.containers)
                .map(|container| container.name.clone())
                .collect(),
            some => some.iter().map(|name| (*name).to_owned()).collect(),
        };
        for container in names {
            if followed.insert((pod.name_any(), pod.uid(), container.clone())) {
                let prefix = format!("{namespace}/{}[{container}]", pod.name_any());
                tailing.spawn(tail_container(
                    pods.clone(),
                    pod.name_any(),
                    container,
                    since,
                    prefix,
                ));
            }
        }
    }
}

/// Prints the log of one container, followed, each line after `prefix`; opening it is retried
/// until the container has started.
async fn tail_container(
    pods: Api<Pod>,
    pod: String,
    container: String,
    since: Duration,
    prefix: String,
) {
    let params = LogParams {
        container: Some(container),
        follow: true,
        since_seconds: Some(since.as_secs().max(1) as i64),
        ..LogParams::default()
    };
    let log = loop {
        match pods.log_stream(&pod, &params).await {
            Ok(log) => break log,
            Err(_) => tokio::time::sleep(RETRY).await,
        }
    };
    let mut lines = pin!(log.lines());
    while let Some(Ok(line)) = lines.next().await {
        println!("{prefix}: {line}");
    }
}
