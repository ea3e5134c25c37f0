//! `riff local publish` and `riff local subscribe`: talk to a gateway's liiklus API.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use futures::StreamExt;
use riff_protocol::liiklus::{
    liiklus_service_client::LiiklusServiceClient, receive_reply, receive_request::ContentFormat,
    subscribe_reply, subscribe_request::AutoOffsetReset, LiiklusEvent, PublishRequest,
    ReceiveRequest, SubscribeRequest,
};
use tokio::sync::mpsc;
use tonic::transport::Channel;

/// The topic of stream `stream` of `namespace` on an in-memory gateway.
pub fn topic(namespace: &str, stream: &str) -> String {
    riff_actors::broker::memory::MemoryBroker::topic_name(namespace, stream)
}

async fn connect(gateway: &str) -> anyhow::Result<LiiklusServiceClient<Channel>> {
    LiiklusServiceClient::connect(format!("http://{gateway}"))
        .await
        .with_context(|| {
            format!("cannot reach the gateway at {gateway} (is `riff local run` running?)")
        })
}

/// Publishes one message and prints where it landed.
pub async fn publish(
    gateway: &str,
    topic: String,
    content_type: String,
    payload: Vec<u8>,
    headers: HashMap<String, String>,
) -> anyhow::Result<()> {
    let mut client = connect(gateway).await?;
    let event = LiiklusEvent {
        id: uuid::Uuid::new_v4().to_string(),
        r#type: "riff-event".into(),
        source: "riff-cli".into(),
        data_content_type: content_type,
        data: payload.into(),
        extensions: headers,
        ..Default::default()
    };
    let reply = client
        .publish(PublishRequest {
            topic: topic.clone(),
            event: Some(riff_protocol::liiklus::publish_request::Event::LiiklusEvent(event)),
            ..Default::default()
        })
        .await
        .map_err(|status| anyhow::anyhow!("publish to {topic:?} refused: {}", status.message()))?
        .into_inner();
    eprintln!(
        "published to {topic} partition {} offset {}",
        reply.partition, reply.offset
    );
    Ok(())
}

/// How a subscriber prints payloads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PayloadEncoding {
    /// As text (payloads that are not UTF-8 are printed in base64 under `payloadBase64`).
    Raw,
    /// Always base64, under `payloadBase64`.
    Base64,
}

/// Prints one JSON object per message until `count` messages were printed (or forever).
pub async fn subscribe(
    gateway: &str,
    topic: String,
    from_beginning: bool,
    count: Option<usize>,
    encoding: PayloadEncoding,
) -> anyhow::Result<()> {
    let mut client = connect(gateway).await?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let reset = if from_beginning {
        AutoOffsetReset::Earliest
    } else {
        AutoOffsetReset::Latest
    };
    let mut assignments = client
        .subscribe(SubscribeRequest {
            topic: topic.clone(),
            group: format!("g{nanos}"),
            auto_offset_reset: reset as i32,
            ..Default::default()
        })
        .await
        .map_err(|status| anyhow::anyhow!("subscribe to {topic:?} refused: {}", status.message()))?
        .into_inner();
    let (events, mut printed) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Some(Ok(reply)) = assignments.next().await {
            let Some(subscribe_reply::Reply::Assignment(assignment)) = reply.reply else {
                continue;
            };
            let (mut client, events) = (client.clone(), events.clone());
            tokio::spawn(async move {
                let request = ReceiveRequest {
                    assignment: Some(assignment),
                    format: ContentFormat::LiiklusEvent as i32,
                    ..Default::default()
                };
                let Ok(records) = client.receive(request).await else {
                    return;
                };
                let mut records = records.into_inner();
                while let Some(Ok(reply)) = records.next().await {
                    if let Some(receive_reply::Reply::LiiklusEventRecord(record)) = reply.reply {
                        if events.send(record.event.unwrap_or_default()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let mut seen = 0;
    while count.is_none_or(|count| seen < count) {
        let Some(event) = printed.recv().await else {
            bail!("the gateway ended the subscription")
        };
        println!("{}", render(&event, encoding));
        seen += 1;
    }
    Ok(())
}

/// One message as riff's dev-utils print it: payload, contentType, headers.
fn render(event: &LiiklusEvent, encoding: PayloadEncoding) -> serde_json::Value {
    use base64::Engine as _;
    let headers: serde_json::Map<_, _> = event
        .extensions
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let mut object = serde_json::json!({
        "contentType": event.data_content_type,
        "headers": headers,
    });
    match (encoding, std::str::from_utf8(&event.data)) {
        (PayloadEncoding::Raw, Ok(text)) => object["payload"] = text.into(),
        _ => {
            object["payloadBase64"] = base64::engine::general_purpose::STANDARD
                .encode(&event.data)
                .into()
        }
    }
    object
}
