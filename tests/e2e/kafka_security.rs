//! A KafkaGateway with SASL or TLS on a real broker: `riff local run` reads the credentials or
//! the CA certificate from a `kind: Secret` document of the manifests, provisions, reads and
//! writes over SCRAM-SHA-512 or TLS; with a wrong password it says the authentication failed,
//! with an untrusted CA that TLS failed; either way it keeps running and retrying, and never
//! logs a secret value.

use std::time::Duration;

use crate::kafka_support::*;
use crate::support::{Manifests, ProcessorYaml, Runtime};
use crate::tls_proxy::{Ca, TlsProxy};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-7f3a";

/// A Secret `kafka-creds` holding `password`, a KafkaGateway `franz` on `bootstrap`
/// authenticating with it, streams `numbers` and `squares`, and a processor squaring.
fn scram_yaml(bootstrap: &str, password: &str) -> String {
    let gateway = format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: kafka-creds}}
stringData: {{user: {USER}, password: {password}}}
---
apiVersion: streaming.projectriff.io/v1alpha1
kind: KafkaGateway
metadata: {{name: franz}}
spec:
  bootstrapServers: '{bootstrap}'
  sasl:
    mechanism: SCRAM-SHA-512
    user: {{name: kafka-creds, key: user}}
    password: {{name: kafka-creds, key: password}}
"
    );
    with_squarer(&gateway, bootstrap)
}

/// `gateway` (YAML documents ending with the KafkaGateway `franz` on `bootstrap`), then streams
/// `numbers` and `squares` on it and a processor squaring.
fn with_squarer(gateway: &str, bootstrap: &str) -> String {
    let streams = franz_with_streams(bootstrap, &["numbers", "squares"], 2);
    let streams = streams
        .split_once("---\n")
        .expect("streams follow the gateway")
        .1;
    let processor = ProcessorYaml::sample(
        "squarer",
        "square",
        &["numbers@earliest"],
        &["squares"],
        "{count: 1}",
    );
    format!("{gateway}---\n{streams}{}", processor.yaml())
}

/// Runs `yaml` and checks that 1, 2 and 3 come out squared, produced and read by `kafka`.
async fn squares_flow(yaml: &str, kafka: &Plain) {
    let manifests = Manifests::new(&[("all.yaml", yaml)]);
    let _riff = Runtime::start_with(&[manifests.path()], &tansu_args());
    kafka.produce_numbers("default_numbers", 1..=3).await;
    let squares = kafka
        .read("default_squares", 3, Duration::from_secs(60))
        .await;
    let mut values: Vec<_> = squares.iter().map(|r| r.value.clone()).collect();
    values.sort();
    assert_eq!(values, ["1", "4", "9"]);
}

/// Runs `yaml`, whose gateway `franz` the cluster at `bootstrap` refuses: a log line names the
/// cluster and the gateway and says `cause`, the streams' provisioning is retried saying it too, and riff keeps
/// running. Returns the log.
fn refused(yaml: &str, bootstrap: &str, cause: &str) -> String {
    let manifests = Manifests::new(&[("all.yaml", yaml)]);
    let mut riff = Runtime::spawn_with(&[manifests.path()], &tansu_args());
    let line = riff.wait_for_log(cause, Duration::from_secs(60));
    assert!(
        line.contains(bootstrap) && line.contains("gateway default/franz"),
        "the line names the cluster and the gateway: {line}"
    );
    let retried = riff.wait_for_log("attempt=3", Duration::from_secs(60));
    assert!(retried.contains(cause), "the retry says why: {retried}");
    assert!(riff.running(), "riff keeps running: {:?}", riff.log());
    riff.log().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scram_gateway_moves_records_and_a_wrong_password_says_authentication_failed() {
    let dir = tempfile::tempdir().unwrap();
    let tansu = Tansu::scram(dir.path(), USER, PASSWORD);
    let bootstrap = tansu.bootstrap();

    let kafka = Plain::with_properties(
        &bootstrap,
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ],
    );
    squares_flow(&scram_yaml(&bootstrap, PASSWORD), &kafka).await;

    let wrong = "wrong-password-9c1e";
    let log = refused(
        &scram_yaml(&bootstrap, wrong),
        &bootstrap,
        "authentication failed",
    );
    for secret in [wrong, PASSWORD] {
        assert!(!log.contains(secret), "a secret value was logged:\n{log}");
    }
}

/// A Secret `kafka-ca` holding `ca_pem`, a KafkaGateway `franz` on `bootstrap` trusting it,
/// streams `numbers` and `squares`, and a processor squaring.
fn tls_yaml(bootstrap: &str, ca_pem: &str) -> String {
    let ca_pem: String = ca_pem.lines().map(|line| format!("    {line}\n")).collect();
    let gateway = format!(
        "apiVersion: v1
kind: Secret
metadata: {{name: kafka-ca}}
stringData:
  ca.crt: |
{ca_pem}---
apiVersion: streaming.projectriff.io/v1alpha1
kind: KafkaGateway
metadata: {{name: franz}}
spec:
  bootstrapServers: '{bootstrap}'
  tls: {{caCert: {{name: kafka-ca, key: ca.crt}}}}
"
    );
    with_squarer(&gateway, bootstrap)
}

/// tansu has no TLS listener: a TLS-terminating proxy, whose certificate (for `IP:127.0.0.1`)
/// a test CA signed, stands in front of it, and tansu advertises the proxy so that every
/// connection after the bootstrap one goes through TLS too.
#[tokio::test(flavor = "multi_thread")]
async fn a_tls_gateway_moves_records_and_an_untrusted_ca_says_tls_failed() {
    let ca = Ca::new("riff e2e CA");
    let listener = TlsProxy::listener();
    let tansu = Tansu::memory_advertising(listener.local_addr().unwrap().port());
    let proxy = TlsProxy::start(listener, ca.server(), &tansu.bootstrap());
    let bootstrap = proxy.address();

    let kafka = Plain::with_properties(
        &bootstrap,
        &[("security.protocol", "ssl"), ("ssl.ca.pem", ca.pem())],
    );
    squares_flow(&tls_yaml(&bootstrap, ca.pem()), &kafka).await;

    let stranger = Ca::new("another CA");
    let log = refused(
        &tls_yaml(&bootstrap, stranger.pem()),
        &bootstrap,
        "TLS failed",
    );
    assert!(!log.contains("-----BEGIN"), "a PEM was logged:\n{log}");
    for pem in [ca.pem(), stranger.pem()] {
        for line in pem.lines().filter(|line| !line.starts_with("-----")) {
            assert!(!log.contains(line), "a PEM line was logged:\n{log}");
        }
    }
}
