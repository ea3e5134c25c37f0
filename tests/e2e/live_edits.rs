//! `riff local run` applies edits to its YAML while running: only what changed restarts, no
//! message is lost, and an edit that does not load is refused while the previous resources keep
//! running.

use std::time::Duration;

use crate::support::*;

fn squarer(window: &str) -> String {
    ProcessorYaml::sample(
        "squarer",
        "square",
        &["numbers@earliest"],
        &["squares"],
        window,
    )
    .yaml()
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_to_the_yaml_are_applied_while_running() {
    let streams = gateway_and_streams(&["numbers", "squares", "copies"]);
    let manifests = Manifests::new(&[("all.yaml", &(streams.clone() + &squarer("{count: 1}")))]);
    let file = manifests.path().join("all.yaml");
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("numbers", 1..=3).await;
    let squares = gateway.read("squares", 3, Duration::from_secs(15)).await;
    assert_eq!(numbers(&squares), [1.0, 4.0, 9.0]);

    // A new processor, and the squarer's window changed: both start, the old squarer stops.
    let copier = ProcessorYaml::sample(
        "copier",
        "pass-through",
        &["numbers@earliest"],
        &["copies"],
        "{count: 1}",
    );
    let edited = streams.clone() + &squarer("{count: 2}") + &copier.yaml();
    std::fs::write(&file, edited).unwrap();
    let applied = runtime.wait_for_log("manifests changed; applied", Duration::from_secs(20));
    assert!(
        applied.contains("stopped=1") && applied.contains("started=2"),
        "{applied}"
    );
    gateway.publish_numbers("numbers", 4..=5).await;
    let copies = gateway.read("copies", 5, Duration::from_secs(15)).await;
    assert_eq!(numbers(&copies), [1.0, 2.0, 3.0, 4.0, 5.0]);
    let squares = gateway.read("squares", 5, Duration::from_secs(15)).await;
    assert_eq!(
        numbers(&squares),
        [1.0, 4.0, 9.0, 16.0, 25.0],
        "the restarted squarer went on where the old one stopped"
    );

    // A broken edit is refused, naming the problem; what ran keeps running.
    std::fs::write(&file, streams + "---\nkind: Processor\nspec: [\n").unwrap();
    let refused = runtime.wait_for_log("not applied", Duration::from_secs(20));
    assert!(refused.contains("all.yaml"), "{refused}");
    gateway.publish_numbers("numbers", 6..=7).await;
    let squares = gateway.read("squares", 7, Duration::from_secs(15)).await;
    assert_eq!(numbers(&squares)[5..], [36.0, 49.0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn gateways_are_added_and_removed_live_but_not_changed() {
    let first = gateway_and_streams(&["numbers"]);
    let manifests = Manifests::new(&[("first.yaml", &first)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;

    // A second gateway, its stream, and a processor across the two.
    let second = gateway_and_streams(&["copies"]).replace("name: gw}", "name: gw2}");
    let copier = ProcessorYaml::sample(
        "copier",
        "pass-through",
        &["numbers@earliest"],
        &["copies"],
        "{count: 1}",
    );
    std::fs::write(
        manifests.path().join("second.yaml"),
        second + &copier.yaml(),
    )
    .unwrap();
    runtime.wait_for_log("started=1", Duration::from_secs(20));
    let (host, port) = runtime.gateway.rsplit_once(':').unwrap();
    let next = format!("{host}:{}", port.parse::<u16>().unwrap() + 1);
    let second_gateway = Gateway::connect(&next).await;
    gateway.publish_numbers("numbers", 1..=2).await;
    let copies = second_gateway
        .read("copies", 2, Duration::from_secs(15))
        .await;
    assert_eq!(numbers(&copies), [1.0, 2.0]);

    // Changing a running gateway is refused: its messages live in it.
    let kafka = first.replace(
        "kind: InMemoryGateway\nmetadata: {name: gw}\nspec: {}",
        "kind: KafkaGateway\nmetadata: {name: gw}\nspec: {bootstrapServers: 'kafka:9092'}",
    );
    std::fs::write(manifests.path().join("first.yaml"), kafka).unwrap();
    let refused = runtime.wait_for_log("not applied", Duration::from_secs(20));
    assert!(
        refused.contains("gateway default/gw changed; restart `riff local run`"),
        "{refused}"
    );
    std::fs::write(manifests.path().join("first.yaml"), &first).unwrap();

    // Removed: the second gateway stops serving.
    std::fs::remove_file(manifests.path().join("second.yaml")).unwrap();
    runtime.wait_for_log("stopped=1", Duration::from_secs(20));
    eventually("gw2 to stop serving", Duration::from_secs(10), || {
        std::net::TcpStream::connect(&next).is_err().then_some(())
    });
    gateway.publish_numbers("numbers", 3..=3).await;
    assert_eq!(
        gateway
            .read("numbers", 3, Duration::from_secs(5))
            .await
            .len(),
        3
    );
}
