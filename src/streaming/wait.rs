//! `--tail`: wait until a resource is Ready, printing the logs of its pods meanwhile (riff's
//! `k8s.WaitUntilReady` raced against its log tail).

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, ResourceExt};
use riff_actors::resources::ready;
use riff_actors::resources::ConditionStatus;

use super::args::GoDuration;
use super::cluster::Cluster;
use super::kind::Kind;
use super::logs;

/// How far back `--tail` starts the logs: riff's one minute.
const LOGS_SINCE: Duration = Duration::from_secs(60);

/// Waits at most `timeout` until `object` is Ready, printing the logs of its pods meanwhile.
/// Fails as soon as Ready turns False (`failed to become ready: <message>`) or the object is
/// deleted; on timeout the error says how to look further.
pub async fn tail_until_ready<K: Kind>(
    cluster: &Cluster,
    object: &K,
    timeout: &GoDuration,
) -> anyhow::Result<()> {
    let name = object.name_any();
    let logs = async {
        if let Some(pods) = K::LOGS {
            let selector = format!("{}={name}", pods.label);
            logs::follow(
                cluster.client.clone(),
                &cluster.namespace,
                &selector,
                pods.containers,
                LOGS_SINCE,
            )
            .await;
        }
    };
    let ready = until_ready(cluster.api::<K>(), object);
    let waiting = async {
        let mut ready = pin!(ready);
        tokio::select! {
            result = &mut ready => result,
            () = logs => ready.await,
        }
    };
    match tokio::time::timeout(timeout.duration, waiting).await {
        Ok(result) => result,
        Err(_) => {
            let namespace = &cluster.namespace;
            let command = format!("riff streaming {}", K::COMMAND);
            let mut message = format!(
                "timeout after {:?} waiting for {name:?} to become ready\nTo view status run: {command} status {name} -n {namespace}",
                timeout.text
            );
            if K::TAIL_COMMAND {
                message.push_str(&format!(
                    "\nTo continue watching logs run: {command} tail {name} -n {namespace}"
                ));
            }
            Err(anyhow::anyhow!(message))
        }
    }
}

/// Watches the namespace until `target` (same name and UID) is Ready.
async fn until_ready<K: Kind>(api: Api<K>, target: &K) -> anyhow::Result<()> {
    let (name, uid) = (target.name_any(), target.uid());
    let is_target =
        |object: &K| object.name_any() == name && (uid.is_none() || object.uid() == uid);
    let deleted = || anyhow::anyhow!("{} {name:?} deleted", K::NOUN);
    let mut events = pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
    let mut seen = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => seen = false,
            Ok(Event::InitApply(object) | Event::Apply(object)) if is_target(&object) => {
                seen = true;
                if is_ready(&object)? {
                    return Ok(());
                }
            }
            Ok(Event::Delete(object)) if is_target(&object) => return Err(deleted()),
            Ok(Event::InitDone) if !seen => return Err(deleted()),
            Ok(_) => {}
            Err(error) => eprintln!("watching {}: {error}", K::NOUNS),
        }
    }
    Err(deleted())
}

/// Whether Ready is True; an error when it is False.
fn is_ready<K: Kind>(object: &K) -> anyhow::Result<bool> {
    match ready(object.conditions()) {
        Some(ready) if ready.status == ConditionStatus::True => Ok(true),
        Some(ready) if ready.status == ConditionStatus::False => {
            anyhow::bail!("failed to become ready: {}", ready.message)
        }
        _ => Ok(false),
    }
}
