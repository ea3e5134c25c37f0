//! Conversions between liiklus wire messages and broker [`Message`]s / [`Record`]s / errors.
//!
//! A published `LiiklusEvent` becomes a message with payload = `data`, content type =
//! `data_content_type` and headers = `extensions`, plus its `id`, `type`, `source` and `time`
//! (when set) under the headers `ce_id`, `ce_type`, `ce_source` and `ce_time` — the CloudEvents
//! Kafka binding names — so that `Receive` in `LIIKLUS_EVENT` format can rebuild the event.
//! Extension names starting with `ce_` are refused (CloudEvents extension names are lower-case
//! letters and digits only), so no extension can be mistaken for an attribute.
//!
//! A message stored without these headers (a plain `value` publish, or a message published
//! straight to the broker) reads back as an event whose missing attributes are empty strings.

use std::collections::BTreeMap;

use bytes::Bytes;
use riff_protocol::liiklus::publish_request::Event;
use riff_protocol::liiklus::receive_reply::{LiiklusEventRecord, Record as WireRecord, Reply};
use riff_protocol::liiklus::receive_request::ContentFormat;
use riff_protocol::liiklus::{LiiklusEvent, PublishRequest, ReceiveReply};
use tonic::Status;

use crate::broker::BrokerError;
use crate::message::{Message, Record, EVENT_ATTRIBUTE_PREFIX};

const ID: &str = "ce_id";
const TYPE: &str = "ce_type";
const SOURCE: &str = "ce_source";
const TIME: &str = "ce_time";

/// The message a `Publish` request carries: its event, else its plain `value` (riff 0.5 clients)
/// whose content type is left empty so that it takes the stream's.
#[allow(deprecated)] // `value` is deprecated in liiklus 0.10 but still what riff 0.5 sends.
pub(super) fn message(request: PublishRequest) -> Result<Message, Status> {
    let mut message = match request.event {
        Some(Event::LiiklusEvent(event)) => from_event(event)?,
        None => Message {
            payload: request.value,
            ..Message::default()
        },
    };
    message.key = (!request.key.is_empty()).then_some(request.key);
    Ok(message)
}

fn from_event(event: LiiklusEvent) -> Result<Message, Status> {
    for (field, value) in [
        ("id", &event.id),
        ("type", &event.r#type),
        ("source", &event.source),
    ] {
        if value.is_empty() {
            return Err(Status::invalid_argument(format!(
                "the event has no {field}: LiiklusEvent.{field} is required"
            )));
        }
    }
    if let Some(name) = event
        .extensions
        .keys()
        .find(|name| name.starts_with(EVENT_ATTRIBUTE_PREFIX))
    {
        return Err(Status::invalid_argument(format!(
            "extension name {name:?} is not allowed: names starting with \"ce_\" are reserved"
        )));
    }
    Ok(message_of(event))
}

/// The message of an event: payload, content type, extensions as headers and the attributes
/// that are set as `ce_*` headers.
pub(crate) fn message_of(event: LiiklusEvent) -> Message {
    let mut headers: BTreeMap<String, String> = event.extensions.into_iter().collect();
    for (name, value) in [
        (ID, event.id),
        (TYPE, event.r#type),
        (SOURCE, event.source),
        (TIME, event.time),
    ] {
        if !value.is_empty() {
            headers.insert(name.to_string(), value);
        }
    }
    Message {
        key: None,
        payload: event.data,
        content_type: event.data_content_type,
        headers: headers.into(),
    }
}

/// The event of a message: its `ce_*` attribute headers become the attributes, its other
/// headers the extensions.
pub(crate) fn event_of(
    content_type: String,
    payload: Bytes,
    mut headers: BTreeMap<String, String>,
) -> LiiklusEvent {
    let mut attribute = |name| headers.remove(name).unwrap_or_default();
    LiiklusEvent {
        id: attribute(ID),
        r#type: attribute(TYPE),
        source: attribute(SOURCE),
        time: attribute(TIME),
        data_content_type: content_type,
        data: payload,
        extensions: headers.into_iter().collect(),
    }
}

/// The `Receive` reply for `record` in `format`; `replay` tells whether it was acked already.
pub(super) fn reply(record: Record, format: ContentFormat, replay: bool) -> ReceiveReply {
    let timestamp = Some(prost_types::Timestamp {
        seconds: record.timestamp_ms.div_euclid(1000),
        nanos: (record.timestamp_ms.rem_euclid(1000) * 1_000_000) as i32,
    });
    let Message {
        key,
        payload,
        content_type,
        headers,
    } = record.message;
    let key = key.unwrap_or_default();
    let reply = match format {
        ContentFormat::Binary => Reply::Record(WireRecord {
            offset: record.offset,
            key,
            value: payload,
            timestamp,
            replay,
        }),
        ContentFormat::LiiklusEvent => Reply::LiiklusEventRecord(LiiklusEventRecord {
            offset: record.offset,
            key,
            event: Some(event_of(content_type, payload, headers.into())),
            timestamp,
            replay,
        }),
    };
    ReceiveReply { reply: Some(reply) }
}

/// The gRPC status of a broker error: an unknown topic is `NOT_FOUND`, an incompatible content
/// type `INVALID_ARGUMENT`; the message is the error's text (naming the topic, or both types).
pub(super) fn status(error: BrokerError) -> Status {
    let message = error.to_string();
    match error {
        BrokerError::UnknownTopic(_) => Status::not_found(message),
        BrokerError::IncompatibleContentType { .. } => Status::invalid_argument(message),
        BrokerError::Unavailable(_) | BrokerError::Closed => Status::unavailable(message),
    }
}
