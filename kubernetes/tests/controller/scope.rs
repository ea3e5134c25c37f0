//! A controller limited to one namespace (`--namespace`, for operators who may not grant it the
//! whole cluster) reconciles that namespace and leaves every other alone.

use std::time::Duration;

use crate::support::{eventually, stays, Cluster, STREAMING};

const GATEWAYS: &str = "
apiVersion: streaming.projectriff.io/v1alpha1
kind: InMemoryGateway
metadata: {name: franz, namespace: team-a}
spec: {}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: InMemoryGateway
metadata: {name: franz, namespace: team-b}
spec: {}
";

#[actix_rt::test]
async fn a_namespaced_controller_reconciles_only_its_namespace() {
    let cluster = Cluster::start_watching("team-a").await;
    cluster.apply(GATEWAYS);
    let object = |namespace: &str, plural: &str| {
        cluster
            .api
            .get_object(STREAMING, plural, namespace, "franz")
    };
    eventually("team-a's Gateway", || object("team-a", "gateways")).await;
    eventually("team-a's status", || {
        let status = &object("team-a", "inmemorygateways")?["status"];
        (!status["conditions"].is_null()).then_some(())
    })
    .await;
    stays("team-b is left alone", Duration::from_millis(500), || {
        object("team-b", "gateways").is_none()
            && object("team-b", "inmemorygateways").unwrap()["status"].is_null()
    })
    .await;
}
