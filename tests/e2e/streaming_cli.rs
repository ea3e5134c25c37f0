//! `riff streaming ...`: the real `riff` binary, as a child process, against an in-memory
//! Kubernetes API (fake-apiserver) reached through a kubeconfig.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cluster::{Cluster, Run};
use crate::controller::{install_images, make_deployments_available, start_gateway};
use crate::support::*;

use riff_actors::resources::API_VERSION;

// The riff docs' four commands create what the docs describe (config/time-averager holds the
// streams' YAML; `partitions: 1` is our extension's default).
#[test]
fn the_docs_commands_create_the_documented_objects() {
    let cluster = Cluster::start();
    let out = cluster.ok(&[
        "kafka-gateway",
        "create",
        "franz",
        "--bootstrap-servers",
        "kafka.kafka:9092",
    ]);
    assert_eq!(out, "Created kafka gateway \"franz\"\n");
    for stream in ["in", "out"] {
        let out = cluster.ok(&[
            "stream",
            "create",
            stream,
            "--gateway",
            "franz",
            "--content-type",
            "application/json",
        ]);
        assert_eq!(out, format!("Created stream \"{stream}\"\n"));
    }
    let out = cluster.ok(&[
        "processor",
        "create",
        "time-averager",
        "--function-ref",
        "time-averager",
        "--input",
        "in",
        "--output",
        "out",
    ]);
    assert_eq!(out, "Created processor \"time-averager\"\n");

    let gateway = cluster.object("kafkagateways", "franz").unwrap();
    assert_eq!(gateway["kind"], "KafkaGateway");
    assert_eq!(gateway["metadata"]["namespace"], "default");
    assert_eq!(
        gateway["spec"],
        json!({"bootstrapServers": "kafka.kafka:9092"})
    );
    for stream in ["in", "out"] {
        let stream = cluster.object("streams", stream).unwrap();
        assert_eq!(
            stream["spec"],
            json!({"gateway": {"name": "franz"}, "contentType": "application/json", "partitions": 1})
        );
    }
    let processor = cluster.object("processors", "time-averager").unwrap();
    assert_eq!(
        processor["spec"],
        json!({
            "build": {"functionRef": "time-averager"},
            "inputs": [{"stream": "in"}],
            "outputs": [{"stream": "out"}],
            "template": {"spec": {"containers": [{"name": ""}]}},
        })
    );
}

#[test]
fn kafka_gateways_are_created_listed_shown_and_deleted() {
    let cluster = Cluster::start();
    assert_eq!(cluster.ok(&["kafka", "list"]), "No kafka gateways found.\n");
    cluster.ok(&[
        "kafka",
        "create",
        "franz",
        "--bootstrap-servers",
        "kafka.kafka:9092",
    ]);
    cluster.ok(&[
        "kafka-gateway",
        "create",
        "bob",
        "--bootstrap-servers",
        "b:9092",
        "-n",
        "other",
    ]);
    cluster.set_ready("kafkagateways", "franz", "True", "", "");
    let list = cluster.ok(&["kafka-gateway", "list"]);
    assert_table(
        &list,
        &[
            "NAME    BOOTSTRAP SERVERS   STATUS   AGE",
            "franz   kafka.kafka:9092    Ready    ",
        ],
    );
    let all = cluster.ok(&["kafka-gateway", "list", "--all-namespaces"]);
    assert_table(
        &all,
        &[
            "NAMESPACE   NAME    BOOTSTRAP SERVERS   STATUS",
            "default     franz   kafka.kafka:9092    Ready",
            "other       bob     b:9092              <unknown>",
        ],
    );

    let status = cluster.ok(&["kafka-gateway", "status", "franz"]);
    assert_eq!(status, "# franz: Ready\n---\ntype: Ready\nstatus: 'True'\n");
    let missing = cluster.riff(&["kafka-gateway", "status", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("Kafka gateway \"default/nope\" not found"),
        "{missing:?}"
    );

    assert_eq!(
        cluster.ok(&["kafka", "delete", "franz"]),
        "Deleted kafka gateway \"franz\"\n"
    );
    assert!(cluster.object("kafkagateways", "franz").is_none());
    let again = cluster.riff(&["kafka", "delete", "franz"]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains("Kafka gateway \"default/franz\" not found"),
        "{again:?}"
    );
    assert!(cluster
        .api
        .get_object(API_VERSION, "kafkagateways", "other", "bob")
        .is_some());
}

// Behaviour 86 of docs/riff-compatibility.md, and the in-memory gateway's aliases.
#[test]
fn delete_all_deletes_every_resource_of_the_kind_in_the_namespace() {
    let cluster = Cluster::start();
    for name in ["a", "b"] {
        assert_eq!(
            cluster.ok(&["inmemory", "create", name]),
            format!("Created in-memory gateway \"{name}\"\n")
        );
    }
    cluster.ok(&["inmemory-gateway", "create", "c", "-n", "other"]);
    cluster.ok(&["stream", "create", "s", "--gateway", "a"]);
    let list = cluster.ok(&["inmemory-gateway", "list"]);
    assert!(
        list.starts_with("NAME   STATUS      AGE\na      <unknown>   "),
        "{list}"
    );
    assert_eq!(
        cluster.ok(&["inmemory-gateway", "delete", "--all"]),
        "Deleted in-memory gateways in namespace \"default\"\n"
    );
    assert_eq!(
        cluster.ok(&["inmemory", "list"]),
        "No in-memory gateways found.\n"
    );
    let other = cluster
        .api
        .list_objects(API_VERSION, "inmemorygateways", Some("other"));
    assert_eq!(other.len(), 1);
    assert!(
        cluster.object("streams", "s").is_some(),
        "other kinds are kept"
    );
    let neither = cluster.riff(&["inmemory-gateway", "delete"]);
    assert_eq!(neither.code, 2, "{neither:?}");
    let both = cluster.riff(&["inmemory-gateway", "delete", "x", "--all"]);
    assert!(
        both.stderr.contains("cannot be used with '--all'"),
        "{both:?}"
    );
}

#[test]
fn gateways_are_listed_with_their_type_and_shown() {
    let cluster = Cluster::start();
    assert_eq!(cluster.ok(&["gateway", "list"]), "No gateways found.\n");
    cluster.put(
        "gateways",
        "default",
        "franz",
        "Gateway",
        json!({
            "metadata": {"name": "franz", "namespace": "default",
                         "labels": {"streaming.projectriff.io/gateway-type": "kafka"}},
            "spec": {"ports": [{"name": "gateway", "port": 6565}]},
            "status": {"conditions": [{"type": "Ready", "status": "False",
                "reason": "DeploymentFailed", "message": "no capacity"}]},
        }),
    );
    let list = cluster.ok(&["gateway", "list"]);
    assert!(
        list.starts_with(
            "NAME    TYPE    STATUS             AGE\nfranz   kafka   DeploymentFailed   "
        ),
        "{list}"
    );
    assert_eq!(
        cluster.ok(&["gateway", "status", "franz"]),
        "# franz: DeploymentFailed\n---\ntype: Ready\nstatus: 'False'\nreason: DeploymentFailed\nmessage: no capacity\n"
    );
    let create = cluster.riff(&["gateway", "create", "x"]);
    assert_eq!(
        create.code, 2,
        "the abstract gateway has no create: {create:?}"
    );
}

#[test]
fn streams_are_created_listed_and_deleted() {
    let cluster = Cluster::start();
    assert_eq!(
        cluster.ok(&[
            "streams",
            "create",
            "numbers",
            "--gateway",
            "franz",
            "--partitions",
            "4"
        ]),
        "Created stream \"numbers\"\n"
    );
    cluster.ok(&[
        "stream",
        "create",
        "words",
        "--gateway",
        "franz",
        "--content-type",
        "text/plain",
    ]);
    let numbers = cluster.object("streams", "numbers").unwrap();
    assert_eq!(
        numbers["spec"],
        json!({"gateway": {"name": "franz"}, "contentType": "", "partitions": 4})
    );
    let list = cluster.ok(&["streams", "list"]);
    assert_table(
        &list,
        &[
            "NAME      GATEWAY   CONTENT-TYPE   STATUS      AGE",
            "numbers   franz     <empty>        <unknown>",
            "words     franz     text/plain     <unknown>",
        ],
    );
    assert_eq!(
        cluster.ok(&["stream", "status", "words"]),
        "# words: <unknown>\n"
    );
    assert_eq!(
        cluster.ok(&["stream", "delete", "numbers", "words"]),
        "Deleted stream \"numbers\"\nDeleted stream \"words\"\n"
    );
    assert_eq!(cluster.ok(&["stream", "list"]), "No streams found.\n");
}

// Behaviours 77 and 83 of docs/riff-compatibility.md.
#[test]
fn processors_keep_aliases_for_the_server_and_list_them_when_they_differ() {
    let cluster = Cluster::start();
    cluster.ok(&[
        "processors",
        "create",
        "p",
        "--image",
        "i",
        "--input",
        "a:s1@earliest",
        "--input",
        "s2",
        "--output",
        "o:s3",
        "--env",
        "GREETING=hi",
        "--env-from",
        "KEY=secretKeyRef:creds:key",
        "--window",
        "5s",
        "--window-count",
        "100",
    ]);
    let processor = cluster.object("processors", "p").unwrap();
    let spec = &processor["spec"];
    assert_eq!(
        spec["inputs"],
        json!([{"alias": "a", "stream": "s1", "startOffset": "earliest"}, {"stream": "s2"}])
    );
    assert_eq!(spec["outputs"], json!([{"alias": "o", "stream": "s3"}]));
    assert_eq!(
        spec["template"],
        json!({"spec": {"containers": [{"name": "", "image": "i", "env": [
            {"name": "GREETING", "value": "hi"},
            {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "key"}}},
        ]}]}})
    );
    assert_eq!(spec["window"], json!({"duration": "5s", "count": 100}));

    // As the server defaults them: aliases are the stream names unless given.
    cluster.put(
        "processors",
        "default",
        "square",
        "Processor",
        json!({"spec": {
            "build": {"functionRef": "square"},
            "inputs": [{"stream": "numbers", "alias": "numbers", "startOffset": "latest"},
                       {"stream": "more", "alias": "extra", "startOffset": "latest"}],
            "outputs": [{"stream": "squares", "alias": "squares"}],
        }, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    let list = cluster.ok(&["processor", "list"]);
    assert_table(
        &list,
        &[
            "NAME     FUNCTION   INPUTS                OUTPUTS   STATUS      AGE",
            "p        <empty>    a:s1, s2              o:s3      <unknown>",
            "square   square     numbers, extra:more   squares   Ready",
        ],
    );
}

// Behaviours 78, 79, 81, 82 of docs/riff-compatibility.md and the wait timeout: bad flags name the flag and what it accepts,
// and nothing is created.
#[test]
fn bad_flags_name_the_flag_and_what_it_accepts() {
    let cluster = Cluster::start();
    let refused = |args: &[&str], expected: &str| {
        let run = cluster.riff(args);
        assert_ne!(run.code, 0, "{args:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    };
    for input in ["a:b:c", "s@middle"] {
        refused(
            &["processor", "create", "p", "--image", "i", "--input", input],
            &format!("invalid value '{input}' for '--input <[ALIAS:]STREAM[@earliest|latest]>': malformed input stream reference \"{input}\": expected [<alias>:]<stream>[@earliest|latest]"),
        );
    }
    refused(
        &[
            "processor",
            "create",
            "p",
            "--image",
            "i",
            "--input",
            "in",
            "--output",
            "a:b:c",
        ],
        "'--output <[ALIAS:]STREAM>': malformed output stream reference",
    );
    refused(
        &["processor", "create", "p", "--input", "in"],
        "<--image <IMAGE>|--function-ref <NAME>|--container-ref <NAME>>",
    );
    refused(
        &[
            "processor",
            "create",
            "p",
            "--image",
            "i",
            "--container-ref",
            "c",
            "--input",
            "in",
        ],
        "the argument '--image <IMAGE>' cannot be used with '--container-ref <NAME>'",
    );
    refused(
        &["processor", "create", "p", "--image", "i"],
        "--input <[ALIAS:]STREAM[@earliest|latest]>",
    );
    refused(
        &[
            "processor",
            "create",
            "p",
            "--image",
            "i",
            "--input",
            "in",
            "--env",
            "novalue",
        ],
        "'--env <NAME=VALUE>': malformed environment variable \"novalue\": expected NAME=value",
    );
    refused(
        &[
            "processor",
            "create",
            "p",
            "--image",
            "i",
            "--input",
            "in",
            "--env-from",
            "X=fieldRef:a:b",
        ],
        "expected NAME=secretKeyRef:<secret>:<key> or NAME=configMapKeyRef:<config map>:<key>",
    );
    refused(
        &[
            "processor",
            "create",
            "p",
            "--image",
            "i",
            "--input",
            "in",
            "--window",
            "0s",
        ],
        "invalid value '0s' for '--window <DURATION>': must be greater than zero",
    );
    for content_type in ["text", "text/"] {
        refused(
            &[
                "stream",
                "create",
                "s",
                "--gateway",
                "g",
                "--content-type",
                content_type,
            ],
            &format!("invalid value '{content_type}' for '--content-type <MIME_TYPE>'"),
        );
    }
    refused(&["stream", "create", "s"], "--gateway <NAME>");
    refused(
        &[
            "stream",
            "create",
            "s",
            "--gateway",
            "g",
            "--partitions",
            "0",
        ],
        "'--partitions <N>'",
    );
    refused(
        &["kafka-gateway", "create", "franz"],
        "--bootstrap-servers <ADDRESS>",
    );
    refused(
        &[
            "inmemory-gateway",
            "create",
            "g",
            "--tail",
            "--wait-timeout",
            "-1s",
        ],
        "invalid value '-1s' for '--wait-timeout <DURATION>': must not be negative",
    );
    refused(
        &[
            "inmemory-gateway",
            "create",
            "g",
            "--tail",
            "--wait-timeout",
            "soon",
        ],
        "must be a duration such as 500ms, 10s or 1m30s",
    );
    // Validated like the controller validates: the error names the field.
    refused(
        &["stream", "create", "Bad_Name", "--gateway", "g"],
        "invalid stream \"Bad_Name\": metadata.name: Invalid value: \"Bad_Name\"",
    );
    refused(
        &[
            "processor",
            "create",
            "p",
            "--image",
            "i",
            "--input",
            "x:a",
            "--input",
            "x:b",
        ],
        "spec.inputs[0].alias: Duplicate value: \"x\"",
    );
    assert_eq!(cluster.posts(), Vec::<String>::new());
}

// Behaviour 80 of docs/riff-compatibility.md.
#[test]
fn dry_run_prints_the_yaml_and_creates_nothing() {
    let cluster = Cluster::start();
    let run = cluster.riff(&[
        "kafka-gateway",
        "create",
        "franz",
        "--bootstrap-servers",
        "kafka.kafka:9092",
        "--dry-run",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "---\napiVersion: streaming.projectriff.io/v1alpha1\nkind: KafkaGateway\nmetadata:\n  name: franz\n  namespace: default\nspec:\n  bootstrapServers: kafka.kafka:9092\n"
    );
    assert_eq!(run.stderr, "Created kafka gateway \"franz\"\n");
    let both = cluster.riff(&[
        "stream",
        "create",
        "s",
        "--gateway",
        "g",
        "--dry-run",
        "--tail",
    ]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr
            .contains("the argument '--dry-run' cannot be used with '--tail'"),
        "{both:?}"
    );
    assert_eq!(cluster.posts(), Vec::<String>::new());
    assert!(cluster.object("kafkagateways", "franz").is_none());
}

// Our TLS and SASL extension: references to Secret keys, never values.
#[test]
fn kafka_gateway_create_takes_tls_and_sasl_as_secret_keys() {
    let cluster = Cluster::start();
    let yaml = dry_run(
        &cluster,
        &[
            "kafka-gateway",
            "create",
            "franz",
            "--bootstrap-servers",
            "kafka:9093",
            "--tls-ca-cert",
            "kafka-ca/ca.crt",
            "--sasl-mechanism",
            "SCRAM-SHA-512",
            "--sasl-user",
            "creds/user",
            "--sasl-password",
            "creds/password",
        ],
    );
    let object: Value = serde_norway::from_str(yaml.trim_start_matches("---\n")).unwrap();
    assert_eq!(
        object["spec"],
        json!({"bootstrapServers": "kafka:9093",
               "tls": {"caCert": {"name": "kafka-ca", "key": "ca.crt"}},
               "sasl": {"mechanism": "SCRAM-SHA-512", "user": {"name": "creds", "key": "user"},
                        "password": {"name": "creds", "key": "password"}}})
    );
    let refused = |args: &[&str], needle: &str| {
        let base = [
            "kafka-gateway",
            "create",
            "franz",
            "--bootstrap-servers",
            "k:9093",
        ];
        let run = cluster.riff(&[&base[..], args].concat());
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    };
    refused(
        &[
            "--sasl-mechanism",
            "GSSAPI",
            "--sasl-user",
            "c/u",
            "--sasl-password",
            "c/p",
        ],
        "is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    );
    refused(&["--sasl-mechanism", "PLAIN"], "--sasl-user");
    refused(&["--tls-ca-cert", "kafka-ca"], "is not <secret>/<key>");
    refused(&["--tls-client-cert", "c/crt"], "--tls-client-key");
}

/// `riff streaming <args> --dry-run`'s YAML, which must create nothing on `cluster`.
fn dry_run(cluster: &Cluster, args: &[&str]) -> String {
    let run = cluster.riff(&[args, &["--dry-run"]].concat());
    assert_eq!(run.code, 0, "{args:?}: {run:?}");
    run.stdout
}

// The YAML `--dry-run` prints is the YAML `riff local run` runs, the function program found
// by the image's name.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_yaml_runs_in_embedded_mode() {
    sibling_binary("square");
    let cluster = Cluster::start();
    let files = [
        (
            "1-gateway.yaml",
            dry_run(&cluster, &["inmemory-gateway", "create", "gw"]),
        ),
        (
            "2-numbers.yaml",
            dry_run(
                &cluster,
                &[
                    "stream",
                    "create",
                    "numbers",
                    "--gateway",
                    "gw",
                    "--content-type",
                    "application/json",
                ],
            ),
        ),
        (
            "3-squares.yaml",
            dry_run(
                &cluster,
                &[
                    "stream",
                    "create",
                    "squares",
                    "--gateway",
                    "gw",
                    "--content-type",
                    "application/json",
                ],
            ),
        ),
        (
            "4-squarer.yaml",
            dry_run(
                &cluster,
                &[
                    "processor",
                    "create",
                    "squarer",
                    "--image",
                    "ghcr.io/riff-streaming/square:latest",
                    "--input",
                    "numbers",
                    "--output",
                    "squares",
                    "--window-count",
                    "1",
                ],
            ),
        ),
    ];
    assert_eq!(cluster.posts(), Vec::<String>::new());
    let files: Vec<(&str, &str)> = files.iter().map(|(n, y)| (*n, y.as_str())).collect();
    let manifests = Manifests::new(&files);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("numbers", [7]).await;
    let squares = gateway.read("squares", 1, Duration::from_secs(10)).await;
    assert_eq!(numbers(&squares), [49.0]);
}

// Without `command`, embedded mode runs the program named like the function ref; when there is
// none, it says which field and which program.
#[test]
fn embedded_mode_names_the_program_it_cannot_find() {
    let cluster = Cluster::start();
    let yaml = gateway_and_streams(&["in"])
        + &dry_run(
            &cluster,
            &[
                "processor",
                "create",
                "p",
                "--function-ref",
                "no-such-function-xyz",
                "--input",
                "in",
            ],
        );
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let mut runtime = Runtime::spawn(&[manifests.path()]);
    assert_ne!(runtime.wait_exit(Duration::from_secs(10)), 0);
    let log = runtime.log().join("\n");
    assert!(
        log.contains("spec.build.functionRef: Not found: \"no-such-function-xyz\""),
        "{log}"
    );
}

// Behaviour 85 of docs/riff-compatibility.md, through `create --tail`: the logs of both containers, then Ready.
#[test]
fn processor_create_tail_prints_the_logs_until_ready() {
    let cluster = Cluster::start();
    cluster.api.put_object(
        "v1",
        "pods",
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p-processor-x7k2p", "namespace": "default",
                         "labels": {"streaming.projectriff.io/processor": "p"}},
            "spec": {"containers": [{"name": "function"}, {"name": "processor"}]},
        }),
    );
    cluster.api.append_pod_log(
        "default",
        "p-processor-x7k2p",
        "function",
        "function listening on 8081\n",
    );
    cluster.api.append_pod_log(
        "default",
        "p-processor-x7k2p",
        "processor",
        "processor started\n",
    );
    let tail = cluster.spawn(&[
        "processor",
        "create",
        "p",
        "--image",
        "i",
        "--input",
        "in",
        "--tail",
    ]);
    cluster.created("processors", "p");
    std::thread::sleep(Duration::from_secs(1));
    cluster.set_ready("processors", "p", "True", "", "");
    let run = tail.finish(Duration::from_secs(10));
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"Created processor \"p\""), "{run:?}");
    assert_eq!(lines.last(), Some(&"Processor \"p\" is ready"), "{run:?}");
    let mut logs = lines[1..lines.len() - 1].to_vec();
    logs.sort();
    assert_eq!(
        logs,
        [
            "default/p-processor-x7k2p[function]: function listening on 8081",
            "default/p-processor-x7k2p[processor]: processor started",
        ]
    );
}

// Behaviour 85 of docs/riff-compatibility.md, through `processor tail`.
#[test]
fn processor_tail_follows_the_function_and_processor_containers() {
    let cluster = Cluster::start();
    let missing = cluster.riff(&["processor", "tail", "p"]);
    assert!(
        missing.stderr.contains("Processor \"default/p\" not found"),
        "{missing:?}"
    );
    cluster.ok(&["processor", "create", "p", "--image", "i", "--input", "in"]);
    cluster.api.put_object(
        "v1",
        "pods",
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p-1", "namespace": "default",
                         "labels": {"streaming.projectriff.io/processor": "p"}},
            "spec": {"containers": [{"name": "function"}, {"name": "processor"}, {"name": "istio-proxy"}]},
        }),
    );
    cluster.api.put_object(
        "v1",
        "pods",
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "q-1", "namespace": "default",
                         "labels": {"streaming.projectriff.io/processor": "q"}},
            "spec": {"containers": [{"name": "function"}]},
        }),
    );
    let mut tail = cluster.spawn(&["processor", "tail", "p"]);
    std::thread::sleep(Duration::from_millis(500));
    cluster
        .api
        .append_pod_log("default", "p-1", "function", "squared 7\n");
    cluster
        .api
        .append_pod_log("default", "p-1", "processor", "window committed\n");
    cluster
        .api
        .append_pod_log("default", "p-1", "istio-proxy", "not shown\n");
    cluster
        .api
        .append_pod_log("default", "q-1", "function", "not shown either\n");
    std::thread::sleep(Duration::from_secs(2));
    tail.interrupt();
    let run = tail.finish(Duration::from_secs(10));
    assert_eq!(run.code, 0, "Ctrl-C ends the tail: {run:?}");
    let mut lines: Vec<&str> = run.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "default/p-1[function]: squared 7",
            "default/p-1[processor]: window committed"
        ],
        "{run:?}"
    );
    let selects =
        cluster.api.requests().into_iter().any(|(_, path)| {
            path.contains("labelSelector=streaming.projectriff.io%2Fprocessor%3Dp")
        });
    assert!(selects, "pods are selected by the processor label");
}

// Behaviour 84 of docs/riff-compatibility.md.
#[test]
fn stream_create_tail_fails_fast_when_the_stream_cannot_become_ready() {
    let cluster = Cluster::start();
    let tail = cluster.spawn(&["stream", "create", "in", "--gateway", "franz", "--tail"]);
    cluster.created("streams", "in");
    std::thread::sleep(Duration::from_millis(300));
    let flipped = Instant::now();
    cluster.set_ready(
        "streams",
        "in",
        "False",
        "ProvisionFailed",
        "Gateway \"franz\" not ready",
    );
    let run = tail.finish(Duration::from_secs(10));
    assert!(
        flipped.elapsed() < Duration::from_secs(3),
        "took {:?}",
        flipped.elapsed()
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "Created stream \"in\"\n");
    assert!(
        run.stderr
            .contains("failed to become ready: Gateway \"franz\" not ready"),
        "{run:?}"
    );
}

#[test]
fn waiting_gives_up_at_the_timeout_and_says_how_to_look_further() {
    let cluster = Cluster::start();
    let tail = cluster.spawn(&[
        "processor",
        "create",
        "p",
        "--image",
        "i",
        "--input",
        "in",
        "--tail",
        "--wait-timeout",
        "1s",
    ]);
    let run = tail.finish(Duration::from_secs(10));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "timeout after \"1s\" waiting for \"p\" to become ready\n\
             To view status run: riff streaming processor status p -n default\n\
             To continue watching logs run: riff streaming processor tail p -n default"
        ),
        "{run:?}"
    );
    let started = Instant::now();
    let gateway = cluster.spawn(&[
        "inmemory",
        "create",
        "g",
        "--tail",
        "--wait-timeout",
        "0.5s",
    ]);
    let run = gateway.finish(Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("To view status run: riff streaming inmemory-gateway status g -n default"),
        "{run:?}"
    );
}

#[test]
fn waiting_fails_when_the_resource_is_deleted() {
    let cluster = Cluster::start();
    let tail = cluster.spawn(&[
        "kafka",
        "create",
        "franz",
        "--bootstrap-servers",
        "k:9092",
        "--tail",
    ]);
    cluster.created("kafkagateways", "franz");
    std::thread::sleep(Duration::from_millis(300));
    cluster.ok(&["kafka", "delete", "franz"]);
    let run = tail.finish(Duration::from_secs(10));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("kafka gateway \"franz\" deleted"),
        "{run:?}"
    );
}

#[test]
fn completion_scripts_cover_the_streaming_commands() {
    let cluster = Cluster::start();
    for shell in ["bash", "zsh", "fish"] {
        let script = cluster.ok(&["completion", shell]);
        assert!(
            script.contains("streaming") && script.contains("kafka-gateway"),
            "{shell}"
        );
    }
    let unknown = cluster.riff(&["completion", "cmd"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("[possible values: bash"),
        "{unknown:?}"
    );
}

#[test]
fn the_namespace_comes_from_the_kubeconfig_unless_given() {
    let cluster = Cluster::start();
    cluster
        .api
        .write_kubeconfig(&cluster.kubeconfig, "team-a")
        .unwrap();
    cluster.ok(&["inmemory", "create", "g"]);
    cluster.ok(&["inmemory", "create", "h", "--namespace", "team-b"]);
    let in_a = cluster
        .api
        .list_objects(API_VERSION, "inmemorygateways", Some("team-a"));
    let in_b = cluster
        .api
        .list_objects(API_VERSION, "inmemorygateways", Some("team-b"));
    assert_eq!((in_a.len(), in_b.len()), (1, 1));
    let dry = dry_run(&cluster, &["stream", "create", "s", "--gateway", "g"]);
    assert!(dry.contains("namespace: team-a"), "{dry}");
    let run = Command::new(riff())
        .args(["streaming", "stream", "list"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("HOME", "/nonexistent")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no Kubernetes configuration"), "{stderr}");
}

impl Cluster {
    /// `riff streaming <args>` while the cluster's Deployments become available; what the user
    /// saw.
    fn run_while_deployments_start(&self, args: &[&str]) -> Run {
        let mut background = self.spawn(args);
        let what = format!("riff streaming {args:?} to finish");
        eventually(what, Duration::from_secs(60), || {
            make_deployments_available(&self.api);
            (!background.running()).then_some(())
        });
        background.finish(Duration::ZERO)
    }
}

// The docs' four commands, with `--tail`, against the controller (the real `riff system
// controller` and a real `riff gateway` as every gateway's provisioner): each command returns
// once its resource is Ready.
#[test]
fn the_docs_commands_become_ready_under_the_controller() {
    let cluster = Cluster::start();
    install_images(&cluster.api);
    let (_gateway, provisioner) = start_gateway();
    let _controller = Logged::spawn(
        "riff system controller",
        Command::new(riff())
            .args(["system", "controller"])
            .args(["--probes-address", &format!("127.0.0.1:{}", free_port())])
            .args(["--provisioner-address", &format!("127.0.0.1:{provisioner}")])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("SYSTEM_NAMESPACE", "riff-system"),
    );
    cluster.api.put_object(
        "build.projectriff.io/v1alpha1",
        "functions",
        json!({
        "apiVersion": "build.projectriff.io/v1alpha1", "kind": "Function",
        "metadata": {"name": "time-averager", "namespace": "default"},
        "spec": {}, "status": {"latestImage": "registry.example/time-averager@sha256:1"}}),
    );

    let commands: [(&[&str], &str); 4] = [
        (
            &[
                "kafka-gateway",
                "create",
                "franz",
                "--bootstrap-servers",
                "kafka.kafka:9092",
                "--tail",
            ],
            "KafkaGateway \"franz\" is ready",
        ),
        (
            &[
                "stream",
                "create",
                "in",
                "--gateway",
                "franz",
                "--content-type",
                "application/json",
                "--tail",
            ],
            "Stream \"in\" is ready",
        ),
        (
            &[
                "stream",
                "create",
                "out",
                "--gateway",
                "franz",
                "--content-type",
                "application/json",
                "--tail",
            ],
            "Stream \"out\" is ready",
        ),
        (
            &[
                "processor",
                "create",
                "time-averager",
                "--function-ref",
                "time-averager",
                "--input",
                "in",
                "--output",
                "out",
                "--tail",
            ],
            "Processor \"time-averager\" is ready",
        ),
    ];
    for (args, ready) in commands {
        let run = cluster.run_while_deployments_start(args);
        assert_eq!(run.code, 0, "riff streaming {args:?}: {run:?}");
        assert!(run.stdout.lines().any(|line| line == ready), "{run:?}");
    }
    let scaled = cluster
        .api
        .list_objects("keda.sh/v1alpha1", "scaledobjects", Some("default"));
    assert_eq!(scaled.len(), 1, "{scaled:?}");
    let trigger = &scaled[0]["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "kafka");
    assert_eq!(trigger["metadata"]["bootstrapServers"], "kafka.kafka:9092");
    let deployments = cluster
        .api
        .list_objects("apps/v1", "deployments", Some("default"));
    let function = deployments
        .iter()
        .find(|d| d["metadata"]["labels"]["streaming.projectriff.io/processor"] == "time-averager")
        .map(|d| d["spec"]["template"]["spec"]["containers"][0].clone())
        .unwrap();
    assert_eq!(function["name"], "function");
    assert_eq!(function["image"], "registry.example/time-averager@sha256:1");
}

/// Asserts that `table` has exactly one line per row, each starting with the row's text (the
/// last column, AGE, varies).
fn assert_table(table: &str, rows: &[&str]) {
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), rows.len(), "{table}");
    for (line, row) in lines.iter().zip(rows) {
        assert!(line.starts_with(row), "{row:?} in\n{table}");
    }
}
