//! No request reachable over the network aborts or exhausts a gateway: arbitrary provisioner
//! requests and arbitrary liiklus requests (every number at any value) get an answer, and the
//! gateway serves normally afterwards.

#![allow(deprecated)] // riff 0.5 clients use the deprecated `assignment` field.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use riff_actors::broker::memory::MemoryBroker;
use riff_actors::broker::Broker;
use riff_actors::gateway::{serve_grpc, serve_provisioner};
use riff_protocol::liiklus::liiklus_service_client::LiiklusServiceClient;
use riff_protocol::liiklus::{
    publish_request, AckRequest, Assignment, GetEndOffsetsRequest, GetOffsetsRequest, LiiklusEvent,
    PublishRequest, ReceiveRequest, SubscribeRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const WAIT: Duration = Duration::from_secs(5);

/// A gateway (both APIs) over a memory broker holding topic `ns/s` of 2 partitions.
fn gateway(runtime: &Runtime) -> (std::net::SocketAddr, std::net::SocketAddr) {
    runtime.block_on(async {
        let broker: Arc<dyn Broker> = Arc::new(MemoryBroker::new());
        broker.provision("ns/s", 2, "*/*").await.unwrap();
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addresses = (grpc.local_addr().unwrap(), http.local_addr().unwrap());
        tokio::spawn(serve_grpc(broker.clone(), grpc, std::future::pending()));
        tokio::spawn(serve_provisioner(
            broker,
            "gw:6565",
            http,
            std::future::pending(),
        ));
        addresses
    })
}

/// The status of a raw HTTP/1.1 exchange.
async fn http(address: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> u16 {
    let mut socket = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: p\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, socket.read_to_end(&mut response))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    response
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {response:?}"))
}

/// Provisioner bodies: JSON objects with numbers of any size and sign, and arbitrary bytes.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let number = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("1e400".to_string()),
        Just("4000000000".to_string()),
    ];
    prop_oneof![
        (number, "[ -~]{0,40}").prop_map(|(partitions, content_type)| format!(
            r#"{{"partitions": {partitions}, "contentType": {content_type:?}}}"#
        )
        .into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

#[test]
fn arbitrary_provisioner_requests_are_answered_and_the_gateway_keeps_serving() {
    let runtime = Runtime::new().unwrap();
    let (_, provisioner) = gateway(&runtime);
    let requests = (
        prop_oneof![Just("PUT"), Just("GET"), Just("POST"), Just("DELETE")],
        "(/[a-z0-9%.-]{0,12}){0,4}",
        bodies(),
    );
    let mut runner = TestRunner::new(Config::with_cases(300));
    runner
        .run(&requests, |(method, path, body)| {
            let path = if path.is_empty() { "/".into() } else { path };
            let status = runtime.block_on(http(provisioner, method, &path, &body));
            prop_assert!(
                [200, 201, 400, 404, 405, 413, 503].contains(&status),
                "{method} {path}: {status}"
            );
            Ok(())
        })
        .unwrap();
    let huge = br#"{"partitions": 4000000000}"#;
    assert_eq!(
        runtime.block_on(http(provisioner, "PUT", "/ns/x4", huge)),
        400
    );
    assert_eq!(
        runtime.block_on(http(provisioner, "PUT", "/ns/ok", b"")),
        201
    );
}

/// One liiklus call with arbitrary field values.
#[derive(Debug, Clone)]
enum Call {
    Publish(String, u32, Vec<u8>),
    Subscribe(String, String, u32, i32),
    Receive(String, u32, u64, i32),
    Ack(String, String, u32, u64, u32),
    Offsets(String, String, u32),
    EndOffsets(String),
}

fn calls() -> impl Strategy<Value = Call> {
    let topic = prop_oneof![Just("ns/s".to_string()), "[ -~]{0,12}"];
    let group = "[a-z]{0,6}";
    prop_oneof![
        (
            topic.clone(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(t, p, v)| Call::Publish(t, p, v)),
        (topic.clone(), group, any::<u32>(), any::<i32>())
            .prop_map(|(t, g, v, r)| Call::Subscribe(t, g, v, r)),
        ("[ -~]{0,40}", any::<u32>(), any::<u64>(), any::<i32>())
            .prop_map(|(s, p, o, f)| Call::Receive(s, p, o, f)),
        (
            topic.clone(),
            group,
            any::<u32>(),
            any::<u64>(),
            any::<u32>()
        )
            .prop_map(|(t, g, p, o, v)| Call::Ack(t, g, p, o, v)),
        (topic.clone(), group, any::<u32>()).prop_map(|(t, g, v)| Call::Offsets(t, g, v)),
        topic.prop_map(Call::EndOffsets),
    ]
}

/// Waits briefly for the first item of a streamed answer.
async fn first<T>(reply: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>) {
    if let Ok(reply) = reply {
        let mut stream = reply.into_inner();
        _ = tokio::time::timeout(Duration::from_millis(20), stream.message()).await;
    }
}

/// Makes `call`; any answer, error or not, is fine. A stream's first item is awaited briefly.
async fn make(client: &mut LiiklusServiceClient<tonic::transport::Channel>, call: Call) {
    match call {
        Call::Publish(topic, partition, value) => {
            let event = (partition % 2 == 0).then(|| {
                publish_request::Event::LiiklusEvent(LiiklusEvent {
                    id: "1".into(),
                    r#type: "t".into(),
                    source: "s".into(),
                    data: value.clone().into(),
                    ..Default::default()
                })
            });
            let request = PublishRequest {
                topic,
                key: partition.to_be_bytes().to_vec().into(),
                value: value.into(),
                event,
            };
            _ = client.publish(request).await;
        }
        Call::Subscribe(topic, group, group_version, auto_offset_reset) => {
            let request = SubscribeRequest {
                topic,
                group,
                group_version,
                auto_offset_reset,
            };
            first(client.subscribe(request).await).await;
        }
        Call::Receive(session_id, partition, last_known_offset, format) => {
            let request = ReceiveRequest {
                assignment: Some(Assignment {
                    session_id,
                    partition,
                }),
                last_known_offset,
                format,
            };
            first(client.receive(request).await).await;
        }
        Call::Ack(topic, group, partition, offset, group_version) => {
            let request = AckRequest {
                topic,
                group,
                group_version,
                partition,
                offset,
                assignment: None,
            };
            _ = client.ack(request).await;
        }
        Call::Offsets(topic, group, group_version) => {
            let request = GetOffsetsRequest {
                topic,
                group,
                group_version,
            };
            _ = client.get_offsets(request).await;
        }
        Call::EndOffsets(topic) => {
            _ = client.get_end_offsets(GetEndOffsetsRequest { topic }).await;
        }
    }
}

#[test]
fn arbitrary_liiklus_requests_are_answered_and_the_gateway_keeps_serving() {
    let runtime = Runtime::new().unwrap();
    let (grpc, _) = gateway(&runtime);
    let mut client = runtime
        .block_on(LiiklusServiceClient::connect(format!("http://{grpc}")))
        .unwrap();
    let mut runner = TestRunner::new(Config::with_cases(400));
    runner
        .run(&proptest::collection::vec(calls(), 1..6), |calls| {
            let mut client = client.clone();
            runtime.block_on(async {
                for call in calls {
                    make(&mut client, call).await;
                }
            });
            Ok(())
        })
        .unwrap();
    // Still serving: a publish and the end offsets it moved.
    runtime.block_on(async {
        make(
            &mut client,
            Call::Publish("ns/s".into(), 0, b"after".to_vec()),
        )
        .await;
        let ends = client
            .get_end_offsets(GetEndOffsetsRequest {
                topic: "ns/s".into(),
            })
            .await
            .expect("the gateway still answers")
            .into_inner();
        assert!(!ends.offsets.is_empty());
    });
}
