//! Leader election: of two controllers, only the Lease holder reconciles; when it stops, it
//! releases the Lease and the other takes over at once. Both answer their probes.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use riff_kubernetes::context::ControllerContext;
use riff_kubernetes::controller::LEASE_NAME;
use riff_kubernetes::provisioner::Provisioner;
use tokio::sync::oneshot;

use crate::support::{eventually, install_images, run_controller_as, stays, SYSTEM_NAMESPACE};

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn probe(address: SocketAddr, path: &str) -> Option<u16> {
    let response = reqwest::get(format!("http://{address}{path}")).await.ok()?;
    Some(response.status().as_u16())
}

fn gateway(name: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "streaming.projectriff.io/v1alpha1", "kind": "InMemoryGateway",
                       "metadata": {"name": name, "namespace": "default"}, "spec": {}})
}

#[actix_rt::test]
async fn only_the_lease_holder_reconciles_and_a_standby_takes_over() {
    let api = fake_apiserver::FakeApiServer::start();
    install_images(&api);
    let mut stops = Vec::new();
    let mut probes = Vec::new();
    for identity in ["first", "second"] {
        let context = ControllerContext::new(
            api.client("default"),
            SYSTEM_NAMESPACE,
            Provisioner::default(),
            Some(identity.into()),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let address = free_address();
        actix::spawn(run_controller_as(
            context,
            true,
            identity,
            Some(address),
            async {
                stopped.await.ok();
            },
        ));
        stops.push(stop);
        probes.push(address);
        if identity == "first" {
            eventually("first leads", || {
                let lease = api.get_object(
                    "coordination.k8s.io/v1",
                    "leases",
                    SYSTEM_NAMESPACE,
                    LEASE_NAME,
                )?;
                (lease["spec"]["holderIdentity"] == "first").then_some(())
            })
            .await;
        }
    }
    for address in &probes {
        let mut ready = None;
        for _ in 0..100 {
            ready = probe(*address, "/readyz").await;
            if ready == Some(200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(ready, Some(200), "leader and standby are both ready");
        assert_eq!(probe(*address, "/healthz").await, Some(200));
    }

    api.put_object(
        "streaming.projectriff.io/v1alpha1",
        "inmemorygateways",
        gateway("one"),
    );
    eventually("the leader reconciles", || {
        api.get_object(
            "streaming.projectriff.io/v1alpha1",
            "gateways",
            "default",
            "one",
        )
    })
    .await;
    stays("the standby holds off", Duration::from_millis(500), || {
        let lease = api
            .get_object(
                "coordination.k8s.io/v1",
                "leases",
                SYSTEM_NAMESPACE,
                LEASE_NAME,
            )
            .unwrap();
        lease["spec"]["holderIdentity"] == "first"
    })
    .await;

    let first = stops.remove(0);
    first.send(()).unwrap();
    let released = tokio::time::Instant::now();
    eventually("second leads", || {
        let lease = api.get_object(
            "coordination.k8s.io/v1",
            "leases",
            SYSTEM_NAMESPACE,
            LEASE_NAME,
        )?;
        (lease["spec"]["holderIdentity"] == "second").then_some(())
    })
    .await;
    assert!(
        released.elapsed() < Duration::from_millis(1500),
        "the standby waited for the lease to expire (2 s): it was not released"
    );
    api.put_object(
        "streaming.projectriff.io/v1alpha1",
        "inmemorygateways",
        gateway("two"),
    );
    eventually("the new leader reconciles", || {
        api.get_object(
            "streaming.projectriff.io/v1alpha1",
            "gateways",
            "default",
            "two",
        )
    })
    .await;
    assert_eq!(
        probe(probes[0], "/healthz").await,
        None,
        "the stopped controller's probes are gone"
    );
}
