//! The unit of data that flows through streams.

use std::collections::BTreeMap;

use bytes::Bytes;

/// Headers starting with this prefix carry CloudEvent attributes (`ce_id`, `ce_type`, ...), as
/// in the CloudEvents Kafka binding; all other headers are riff headers (event extensions).
pub const EVENT_ATTRIBUTE_PREFIX: &str = "ce_";

/// One message of a stream: a payload, its content type, its headers and an optional key.
///
/// At rest it follows the CloudEvents binary mode: the payload is the record value, the content
/// type is the `content-type` header and each header travels beside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Partitioning key; messages with the same key keep their order.
    pub key: Option<Bytes>,
    /// The raw payload.
    pub payload: Bytes,
    /// MIME type of the payload, e.g. `application/json`.
    pub content_type: String,
    /// Message headers (riff headers, CloudEvent extensions).
    pub headers: BTreeMap<String, String>,
}

impl Message {
    /// A keyless message without headers.
    pub fn new(payload: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        Message {
            key: None,
            payload: payload.into(),
            content_type: content_type.into(),
            headers: BTreeMap::new(),
        }
    }

    /// The riff headers: every header but the CloudEvent attributes.
    pub fn riff_headers(&self) -> impl Iterator<Item = (&String, &String)> {
        self.headers
            .iter()
            .filter(|(name, _)| !name.starts_with(EVENT_ATTRIBUTE_PREFIX))
    }
}

/// A message as stored in a topic partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Partition of the topic holding the record.
    pub partition: u32,
    /// Offset of the record in its partition (0-based).
    pub offset: u64,
    /// When the record was appended, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The message itself.
    pub message: Message,
}
