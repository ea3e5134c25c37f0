//! The gateway APIs over the in-memory broker, through real sockets: the liiklus gRPC API with
//! the generated tonic client (spec behaviours 41-46 of docs/riff-compatibility.md) and the provisioner HTTP API (behaviour 23 of docs/riff-compatibility.md).

#![allow(deprecated)] // riff 0.5 clients use the deprecated `value` and `assignment` fields.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use riff_actors::broker::kafka::{KafkaBroker, KafkaSettings};
use riff_actors::broker::liiklus::LiiklusBroker;
use riff_actors::broker::memory::MemoryBroker;
use riff_actors::broker::{Broker, BrokerError};
use riff_actors::gateway::{serve_grpc, serve_provisioner};
use riff_actors::message::Message;
use riff_protocol::liiklus::liiklus_service_client::LiiklusServiceClient;
use riff_protocol::liiklus::receive_reply::Reply;
use riff_protocol::liiklus::receive_request::ContentFormat;
use riff_protocol::liiklus::subscribe_request::AutoOffsetReset;
use riff_protocol::liiklus::{
    publish_request, subscribe_reply, AckRequest, Assignment, GetEndOffsetsRequest,
    GetOffsetsRequest, LiiklusEvent, PublishRequest, ReceiveReply, ReceiveRequest, SubscribeReply,
    SubscribeRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Channel;
use tonic::{Code, Streaming};

type Client = LiiklusServiceClient<Channel>;

const WAIT: Duration = Duration::from_secs(5);

/// A gateway over a broker holding `topic` (`partitions`, `content_type`), and a client of it.
async fn gateway(topic: &str, partitions: u32, content_type: &str) -> Client {
    let broker = MemoryBroker::new();
    broker
        .provision(topic, partitions, content_type)
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_grpc(
        Arc::new(broker),
        listener,
        std::future::pending(),
    ));
    LiiklusServiceClient::connect(format!("http://{address}"))
        .await
        .unwrap()
}

fn event(id: &str, data: &str) -> LiiklusEvent {
    LiiklusEvent {
        id: id.to_string(),
        r#type: "greeting".to_string(),
        source: "tests".to_string(),
        data_content_type: "text/plain".to_string(),
        data: Bytes::copy_from_slice(data.as_bytes()),
        ..LiiklusEvent::default()
    }
}

async fn publish(client: &mut Client, topic: &str, data: &str) -> (u32, u64) {
    let request = PublishRequest {
        topic: topic.to_string(),
        event: Some(publish_request::Event::LiiklusEvent(event(data, data))),
        ..PublishRequest::default()
    };
    let reply = client.publish(request).await.unwrap().into_inner();
    assert_eq!(reply.topic, topic);
    (reply.partition, reply.offset)
}

async fn subscribe(
    client: &mut Client,
    topic: &str,
    group: &str,
    reset: AutoOffsetReset,
) -> Streaming<SubscribeReply> {
    let request = SubscribeRequest {
        topic: topic.to_string(),
        group: group.to_string(),
        group_version: 0,
        auto_offset_reset: reset as i32,
    };
    client.subscribe(request).await.unwrap().into_inner()
}

async fn next_assignment(subscription: &mut Streaming<SubscribeReply>) -> Assignment {
    let reply = tokio::time::timeout(WAIT, subscription.message())
        .await
        .expect("an assignment within 5 s")
        .unwrap()
        .expect("the subscription goes on");
    let Some(subscribe_reply::Reply::Assignment(assignment)) = reply.reply else {
        panic!("expected an assignment, got {reply:?}");
    };
    assignment
}

async fn receive(
    client: &mut Client,
    assignment: &Assignment,
    format: ContentFormat,
) -> Streaming<ReceiveReply> {
    let request = ReceiveRequest {
        assignment: Some(assignment.clone()),
        last_known_offset: 0,
        format: format as i32,
    };
    client.receive(request).await.unwrap().into_inner()
}

async fn next_reply(records: &mut Streaming<ReceiveReply>) -> Option<Reply> {
    tokio::time::timeout(WAIT, records.message())
        .await
        .expect("a record or the end within 5 s")
        .unwrap()
        .map(|reply| reply.reply.expect("a reply"))
}

/// `(offset, data, replay)` of the next event record.
async fn next_event(records: &mut Streaming<ReceiveReply>) -> (u64, String, bool) {
    match next_reply(records).await {
        Some(Reply::LiiklusEventRecord(record)) => {
            let data = record.event.expect("an event").data;
            (
                record.offset,
                String::from_utf8(data.to_vec()).unwrap(),
                record.replay,
            )
        }
        other => panic!("expected an event record, got {other:?}"),
    }
}

async fn ack(client: &mut Client, topic: &str, group: &str, partition: u32, offset: u64) {
    let request = AckRequest {
        topic: topic.to_string(),
        group: group.to_string(),
        partition,
        offset,
        ..AckRequest::default()
    };
    client.ack(request).await.unwrap();
}

async fn offsets(client: &mut Client, topic: &str, group: &str) -> HashMap<u32, u64> {
    let request = GetOffsetsRequest {
        topic: topic.to_string(),
        group: group.to_string(),
        group_version: 0,
    };
    client
        .get_offsets(request)
        .await
        .unwrap()
        .into_inner()
        .offsets
}

/// Behaviour 41 of docs/riff-compatibility.md.
#[tokio::test]
async fn latest_delivers_new_records_and_earliest_older_ones_too() {
    let mut client = gateway("t", 1, "text/plain").await;
    publish(&mut client, "t", "old").await;

    let mut latest = subscribe(&mut client, "t", "late", AutoOffsetReset::Latest).await;
    let assignment = next_assignment(&mut latest).await;
    assert_eq!(assignment.partition, 0);
    assert_eq!(publish(&mut client, "t", "new").await, (0, 1));
    let mut records = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
    assert_eq!(
        next_event(&mut records).await,
        (1, "new".to_string(), false)
    );

    let mut earliest = subscribe(&mut client, "t", "early", AutoOffsetReset::Earliest).await;
    let assignment = next_assignment(&mut earliest).await;
    let mut records = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
    assert_eq!(
        next_event(&mut records).await,
        (0, "old".to_string(), false)
    );
    assert_eq!(
        next_event(&mut records).await,
        (1, "new".to_string(), false)
    );
}

/// Behaviour 42 of docs/riff-compatibility.md.
#[tokio::test]
async fn after_an_ack_a_new_subscription_restarts_after_the_acked_offset() {
    let mut client = gateway("t", 1, "text/plain").await;
    for data in ["r0", "r1", "r2", "r3"] {
        publish(&mut client, "t", data).await;
    }
    let mut subscription = subscribe(&mut client, "t", "g", AutoOffsetReset::Earliest).await;
    let assignment = next_assignment(&mut subscription).await;
    let mut records = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
    assert_eq!(next_event(&mut records).await.0, 0);
    assert_eq!(next_event(&mut records).await.0, 1);
    ack(&mut client, "t", "g", 0, 1).await;
    drop((records, subscription));

    for reset in [AutoOffsetReset::Earliest, AutoOffsetReset::Latest] {
        let mut again = subscribe(&mut client, "t", "g", reset).await;
        let assignment = next_assignment(&mut again).await;
        let mut records = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
        assert_eq!(next_event(&mut records).await, (2, "r2".to_string(), false));
    }
}

/// Behaviour 43 of docs/riff-compatibility.md.
#[tokio::test]
async fn offsets_report_last_acked_offsets_and_end_offsets_last_record_offsets() {
    let mut client = gateway("t", 4, "text/plain").await;
    let mut placed = Vec::new();
    for n in 0..6 {
        placed.push(publish(&mut client, "t", &format!("m{n}")).await);
    }
    assert_eq!(placed, [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1)]);
    let end = client
        .get_end_offsets(GetEndOffsetsRequest {
            topic: "t".to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .offsets;
    assert_eq!(end, HashMap::from([(0, 1), (1, 1), (2, 0), (3, 0)]));

    assert_eq!(offsets(&mut client, "t", "g").await, HashMap::new());
    ack(&mut client, "t", "g", 0, 1).await;
    ack(&mut client, "t", "g", 2, 0).await;
    assert_eq!(
        offsets(&mut client, "t", "g").await,
        HashMap::from([(0, 1), (2, 0)])
    );
    assert_eq!(offsets(&mut client, "t", "other").await, HashMap::new());
}

/// Behaviour 44 of docs/riff-compatibility.md.
#[tokio::test]
async fn receive_with_an_unknown_session_completes_without_records() {
    let mut client = gateway("t", 1, "text/plain").await;
    publish(&mut client, "t", "x").await;
    let unknown = Assignment {
        session_id: "no-such-session".to_string(),
        partition: 0,
    };
    let mut records = receive(&mut client, &unknown, ContentFormat::Binary).await;
    assert_eq!(next_reply(&mut records).await, None);

    let mut subscription = subscribe(&mut client, "t", "g", AutoOffsetReset::Earliest).await;
    let unknown_partition = Assignment {
        partition: 7,
        ..next_assignment(&mut subscription).await
    };
    let mut records = receive(&mut client, &unknown_partition, ContentFormat::Binary).await;
    assert_eq!(next_reply(&mut records).await, None);
}

/// Behaviour 45 of docs/riff-compatibility.md.
#[tokio::test]
async fn replay_is_true_for_records_at_or_below_the_last_ack() {
    let mut client = gateway("t", 1, "text/plain").await;
    for data in ["r0", "r1", "r2"] {
        publish(&mut client, "t", data).await;
    }
    let mut subscription = subscribe(&mut client, "t", "g", AutoOffsetReset::Earliest).await;
    let assignment = next_assignment(&mut subscription).await;
    ack(&mut client, "t", "g", 0, 1).await;
    let mut records = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
    assert_eq!(next_event(&mut records).await, (0, "r0".to_string(), true));
    assert_eq!(next_event(&mut records).await, (1, "r1".to_string(), true));
    assert_eq!(next_event(&mut records).await, (2, "r2".to_string(), false));
}

/// Behaviour 46 of docs/riff-compatibility.md.
#[tokio::test]
async fn two_subscribers_of_a_group_split_the_partitions() {
    let mut client = gateway("t", 32, "text/plain").await;
    let mut first = subscribe(&mut client, "t", "g", AutoOffsetReset::Latest).await;
    let mut first_assignments = Vec::new();
    for _ in 0..32 {
        first_assignments.push(next_assignment(&mut first).await);
    }
    let partitions: BTreeSet<u32> = first_assignments.iter().map(|a| a.partition).collect();
    assert_eq!(partitions, (0..32).collect());

    let mut second = subscribe(&mut client, "t", "g", AutoOffsetReset::Latest).await;
    let mut second_assignments = Vec::new();
    for _ in 0..16 {
        second_assignments.push(next_assignment(&mut second).await);
    }
    let partitions: BTreeSet<u32> = second_assignments.iter().map(|a| a.partition).collect();
    assert_eq!(partitions, (1..32).step_by(2).collect());

    // Partition 1 moved: the first subscriber's Receive of it completes.
    let mut lost = receive(&mut client, &first_assignments[1], ContentFormat::Binary).await;
    assert_eq!(next_reply(&mut lost).await, None);

    assert_eq!(publish(&mut client, "t", "to-0").await, (0, 0));
    assert_eq!(publish(&mut client, "t", "to-1").await, (1, 0));
    let mut kept = receive(
        &mut client,
        &first_assignments[0],
        ContentFormat::LiiklusEvent,
    )
    .await;
    assert_eq!(next_event(&mut kept).await, (0, "to-0".to_string(), false));
    let mut taken = receive(
        &mut client,
        &second_assignments[0],
        ContentFormat::LiiklusEvent,
    )
    .await;
    assert_eq!(next_event(&mut taken).await, (0, "to-1".to_string(), false));
}

#[tokio::test]
async fn an_event_round_trips_with_its_key_attributes_and_extensions() {
    let mut client = gateway("t", 1, "text/*").await;
    let sent = LiiklusEvent {
        id: "42".to_string(),
        r#type: "greeting".to_string(),
        source: "/tests".to_string(),
        time: "2020-01-02T03:04:05Z".to_string(),
        data_content_type: "text/csv".to_string(),
        data: Bytes::from_static(b"a,b"),
        extensions: HashMap::from([
            ("traceparent".to_string(), "00-abc-def-01".to_string()),
            ("riffmessageid".to_string(), "7".to_string()),
        ]),
    };
    let request = PublishRequest {
        topic: "t".to_string(),
        key: Bytes::from_static(b"k1"),
        event: Some(publish_request::Event::LiiklusEvent(sent.clone())),
        ..PublishRequest::default()
    };
    client.publish(request).await.unwrap();

    let mut subscription = subscribe(&mut client, "t", "g", AutoOffsetReset::Earliest).await;
    let assignment = next_assignment(&mut subscription).await;
    let mut events = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
    let Some(Reply::LiiklusEventRecord(record)) = next_reply(&mut events).await else {
        panic!("expected an event record");
    };
    assert_eq!((record.offset, &record.key[..]), (0, &b"k1"[..]));
    assert_eq!(record.event, Some(sent));
    assert!(record.timestamp.is_some_and(|t| t.seconds > 1_600_000_000));
    drop(events);

    let mut binary = receive(&mut client, &assignment, ContentFormat::Binary).await;
    publish(&mut client, "t", "second").await;
    let Some(Reply::Record(record)) = next_reply(&mut binary).await else {
        panic!("expected a binary record");
    };
    assert_eq!(
        (record.offset, record.key, record.value),
        (1, Bytes::new(), Bytes::from_static(b"second"))
    );
}

#[tokio::test]
async fn a_plain_value_takes_the_streams_content_type() {
    let mut client = gateway("t", 1, "application/json").await;
    let request = PublishRequest {
        topic: "t".to_string(),
        value: Bytes::from_static(b"{\"n\":1}"),
        ..PublishRequest::default()
    };
    let reply = client.publish(request).await.unwrap().into_inner();
    assert_eq!((reply.partition, reply.offset), (0, 0));

    let mut subscription = subscribe(&mut client, "t", "g", AutoOffsetReset::Earliest).await;
    let assignment = next_assignment(&mut subscription).await;
    let mut events = receive(&mut client, &assignment, ContentFormat::LiiklusEvent).await;
    let Some(Reply::LiiklusEventRecord(record)) = next_reply(&mut events).await else {
        panic!("expected an event record");
    };
    let expected = LiiklusEvent {
        data_content_type: "application/json".to_string(),
        data: Bytes::from_static(b"{\"n\":1}"),
        ..LiiklusEvent::default()
    };
    assert_eq!(record.event, Some(expected));
}

#[tokio::test]
async fn publish_refuses_a_payload_that_is_not_its_content_type() {
    let mut client = gateway("t", 1, "application/json").await;
    let not_json = LiiklusEvent {
        data_content_type: "application/json".to_string(),
        ..event("1", "{not json")
    };
    let request = PublishRequest {
        topic: "t".to_string(),
        event: Some(publish_request::Event::LiiklusEvent(not_json)),
        ..PublishRequest::default()
    };
    let status = client.publish(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "invalid application/json payload: key must be a string at line 1 column 2"
    );
}

#[tokio::test]
async fn publish_refuses_an_incompatible_content_type_naming_both_types() {
    let mut client = gateway("t", 1, "application/json").await;
    let request = PublishRequest {
        topic: "t".to_string(),
        event: Some(publish_request::Event::LiiklusEvent(event("1", "hi"))),
        ..PublishRequest::default()
    };
    let status = client.publish(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        r#"content type "text/plain" is not compatible with the stream's content type "application/json""#
    );
}

#[tokio::test]
async fn publish_to_an_unknown_topic_is_not_found() {
    let mut client = gateway("t", 1, "text/plain").await;
    let request = PublishRequest {
        topic: "nope".to_string(),
        event: Some(publish_request::Event::LiiklusEvent(event("1", "hi"))),
        ..PublishRequest::default()
    };
    let status = client.publish(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), r#"topic "nope" does not exist"#);
}

#[tokio::test]
async fn publish_refuses_an_event_without_id_type_or_source() {
    let mut client = gateway("t", 1, "text/plain").await;
    for field in ["id", "type", "source"] {
        let mut incomplete = event("1", "hi");
        match field {
            "id" => incomplete.id.clear(),
            "type" => incomplete.r#type.clear(),
            _ => incomplete.source.clear(),
        }
        let request = PublishRequest {
            topic: "t".to_string(),
            event: Some(publish_request::Event::LiiklusEvent(incomplete)),
            ..PublishRequest::default()
        };
        let status = client.publish(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            format!("the event has no {field}: LiiklusEvent.{field} is required")
        );
    }
}

#[tokio::test]
async fn group_version_and_the_session_form_of_ack_address_the_same_positions() {
    let mut client = gateway("t", 1, "text/plain").await;
    publish(&mut client, "t", "r0").await;
    let request = SubscribeRequest {
        topic: "t".to_string(),
        group: "g".to_string(),
        group_version: 2,
        auto_offset_reset: AutoOffsetReset::Earliest as i32,
    };
    let mut subscription = client.subscribe(request).await.unwrap().into_inner();
    let assignment = next_assignment(&mut subscription).await;
    let request = AckRequest {
        assignment: Some(assignment),
        offset: 0,
        ..AckRequest::default()
    };
    client.ack(request).await.unwrap();
    assert_eq!(
        offsets(&mut client, "t", "g-v2").await,
        HashMap::from([(0, 0)])
    );
    let request = GetOffsetsRequest {
        topic: "t".to_string(),
        group: "g".to_string(),
        group_version: 2,
    };
    let versioned = client.get_offsets(request).await.unwrap().into_inner();
    assert_eq!(versioned.offsets, HashMap::from([(0, 0)]));
    assert_eq!(offsets(&mut client, "t", "g").await, HashMap::new());
}

/// An HTTP/1.1 exchange over a raw socket: `(status, body)`.
async fn http(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let mut socket = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: provisioner\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, socket.read_to_string(&mut response))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

async fn provisioner(broker: Arc<dyn Broker>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_provisioner(
        broker,
        "gw.example:6565",
        listener,
        std::future::pending(),
    ));
    address
}

/// Behaviour 23 of docs/riff-compatibility.md.
#[tokio::test]
async fn the_provisioner_answers_like_riffs() {
    let address = provisioner(Arc::new(MemoryBroker::new())).await;
    let answer = "{\"gateway\":\"gw.example:6565\",\"topic\":\"ns/s\"}\n".to_string();
    assert_eq!(
        http(address, "PUT", "/ns/s", "").await,
        (201, answer.clone())
    );
    assert_eq!(http(address, "PUT", "/ns/s", "").await, (200, answer));
    for method in ["GET", "POST", "DELETE"] {
        assert_eq!(
            http(address, method, "/ns/s", "").await,
            (405, String::new())
        );
    }
    let form = "URLs should be of the form /<namespace>/<stream-name>".to_string();
    for path in ["/a", "/a/b/c", "/", "/a/"] {
        assert_eq!(http(address, "PUT", path, "").await, (400, form.clone()));
    }
}

// The gateway pod's readiness probe: ready while the broker answers.
#[tokio::test]
async fn readyz_answers_whether_the_broker_does() {
    let memory = provisioner(Arc::new(MemoryBroker::new())).await;
    assert_eq!(
        http(memory, "GET", "/readyz", "").await,
        (200, "ready\n".into())
    );
    // Only GET is the probe: PUT /readyz is still a bad stream path.
    let form = "URLs should be of the form /<namespace>/<stream-name>".to_string();
    assert_eq!(http(memory, "PUT", "/readyz", "").await, (400, form));

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let servers = closed.local_addr().unwrap().to_string();
    drop(closed);
    let kafka = KafkaBroker::connect(KafkaSettings::new(&servers)).unwrap();
    let unreachable = provisioner(Arc::new(kafka)).await;
    let (status, body) = http(unreachable, "GET", "/readyz", "").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("broker unavailable"), "{body}");
}

// The sidecar's client of a remote gateway: reachable while the gateway serves.
#[tokio::test]
async fn a_liiklus_client_sees_whether_its_gateway_serves() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_grpc(Arc::new(MemoryBroker::new()), listener, async {
        stopped.await.ok();
    }));
    let client = LiiklusBroker::connect(&address).unwrap();
    assert_eq!(client.reachable().await, Ok(()));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(matches!(
        client.reachable().await,
        Err(BrokerError::Unavailable(_))
    ));
}

#[tokio::test]
async fn the_provisioner_accepts_partitions_and_content_type() {
    let broker = Arc::new(MemoryBroker::new());
    let address = provisioner(broker.clone()).await;
    let body = r#"{"partitions": 3, "contentType": "application/json"}"#;
    let (status, _) = http(address, "PUT", "/ns/s", body).await;
    assert_eq!(status, 201);
    let json = Message::new("{}", "application/json");
    let mut placed = Vec::new();
    for _ in 0..3 {
        placed.push(broker.publish("ns/s", json.clone()).await.unwrap());
    }
    assert_eq!(placed, [(0, 0), (1, 0), (2, 0)]);
    assert_eq!(
        broker
            .publish("ns/s", Message::new("x", "text/plain"))
            .await,
        Err(BrokerError::IncompatibleContentType {
            expected: "application/json".to_string(),
            actual: "text/plain".to_string(),
        })
    );

    // Without a body: one partition that takes anything.
    assert_eq!(http(address, "PUT", "/ns/any", "").await.0, 201);
    assert_eq!(
        broker
            .publish("ns/any", Message::new("x", "text/plain"))
            .await,
        Ok((0, 0))
    );
    assert_eq!(
        broker.publish("ns/any", Message::new("x", "")).await,
        Ok((0, 1))
    );

    let (status, reason) = http(address, "PUT", "/ns/zero", r#"{"partitions": 0}"#).await;
    assert_eq!(
        (status, reason.as_str()),
        (400, "invalid body: partitions must be at least 1")
    );
    let (status, reason) = http(address, "PUT", "/ns/bad", "{").await;
    assert_eq!(status, 400);
    assert!(reason.starts_with("invalid body: "), "{reason}");
}
