//! Messages as Kafka records: the CloudEvents Kafka protocol binding, binary mode.
//!
//! - value = payload; key = the message key, else its `partitionkey` header;
//! - header `content-type` = the content type;
//! - `ce_specversion: 1.0`, and `ce_id`, `ce_type`, `ce_source` (generated when absent; a
//!   generated id is a per-process random prefix and a counter);
//! - every riff header `name` travels as `ce_<name>` (a CloudEvent extension).
//!
//! Reading accepts any Kafka record: `ce_*` attributes and extensions are mapped back, other
//! headers become riff headers as they are, a key becomes the `partitionkey` header, and a record
//! without `content-type` gets an empty content type (the stream's, see `KafkaBroker`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use bytes::Bytes;
use rdkafka::bindings as rd;

use super::wire_headers;
use crate::message::{Message, Record, EVENT_ATTRIBUTE_PREFIX};

/// The header carrying the content type.
const CONTENT_TYPE: &str = "content-type";
/// The CloudEvents partitioning extension: the record key.
pub const PARTITION_KEY: &str = "partitionkey";
/// CloudEvent attributes kept with their `ce_` prefix in message headers.
const ATTRIBUTES: [&str; 4] = ["ce_id", "ce_type", "ce_source", "ce_time"];

/// The key and headers of the record for `message`.
pub(super) fn encode(message: &Message) -> (Option<Bytes>, RecordHeaders) {
    let absent = |name: &str| !message.headers.contains_key(name);
    let id = absent("ce_id").then(event_id);
    let attributes = [
        Some((CONTENT_TYPE, message.content_type.as_bytes())),
        Some(("ce_specversion", b"1.0".as_slice())),
        id.as_ref().map(|id| ("ce_id", id.as_bytes())),
        absent("ce_type").then_some(("ce_type", b"riff-event".as_slice())),
        absent("ce_source").then_some(("ce_source", b"riff-streaming".as_slice())),
    ];
    // Each header as a prefix of its name, its name, and its value.
    let attributes = (attributes.into_iter().flatten()).map(|(name, value)| (("", name), value));
    let extensions =
        (message.headers.iter()).map(|(name, value)| (extension_name(name), value.as_bytes()));
    let all = attributes.chain(extensions);
    let (count, bytes) = all
        .clone()
        .fold((0, 0), |(count, bytes), ((prefix, name), value)| {
            (count + 1, bytes + prefix.len() + name.len() + value.len())
        });
    let mut headers = RecordHeaders::packed(count, bytes);
    let mut extension = String::new();
    for ((prefix, name), value) in all {
        let name = match prefix {
            "" => name,
            prefix => {
                extension.clear();
                extension.push_str(prefix);
                extension.push_str(name);
                &extension
            }
        };
        headers.add(name, value);
    }
    let key = message.key.clone().or_else(|| {
        message
            .headers
            .get(PARTITION_KEY)
            .map(|key| Bytes::copy_from_slice(key.as_bytes()))
    });
    (key, headers)
}

/// The record header name of riff header `name`: a CloudEvent attribute keeps its name, any other
/// header is an extension (`ce_<name>`). As a prefix and the name.
fn extension_name(name: &str) -> (&'static str, &str) {
    match name.starts_with(EVENT_ATTRIBUTE_PREFIX) {
        true => ("", name),
        false => (EVENT_ATTRIBUTE_PREFIX, name),
    }
}

/// The headers of a record to produce, as librdkafka's own list: each name and value is copied
/// straight in (rdkafka's `OwnedHeaders` first copies each name into a C string of its own).
/// Destroyed when dropped, unless librdkafka took them with their record.
pub(super) struct RecordHeaders(NonNull<rd::rd_kafka_headers_t>);

impl RecordHeaders {
    /// A list with room for `headers` headers whose names and values add up to `bytes`, in one
    /// allocation (librdkafka's own list allocates each header it adds).
    fn packed(headers: usize, bytes: usize) -> Self {
        let list = unsafe { rd::rd_kafka_headers_new_packed(headers, bytes) };
        RecordHeaders(NonNull::new(list).expect("librdkafka allocates a header list"))
    }

    fn add(&mut self, name: &str, value: &[u8]) {
        // Fails only for the read-only headers of a received record, which these are not.
        unsafe {
            rd::rd_kafka_header_add(
                self.0.as_ptr(),
                name.as_ptr().cast(),
                name.len() as isize,
                value.as_ptr().cast(),
                value.len() as isize,
            )
        };
    }

    /// The list, for a record handed to librdkafka.
    pub(super) fn as_ptr(&self) -> *mut rd::rd_kafka_headers_t {
        self.0.as_ptr()
    }

    /// librdkafka took the list with its record: it frees it.
    pub(super) fn taken(self) {
        std::mem::forget(self);
    }
}

impl Drop for RecordHeaders {
    fn drop(&mut self) {
        unsafe { rd::rd_kafka_headers_destroy(self.0.as_ptr()) };
    }
}

/// A new CloudEvent id, unique across processes and runs: a random prefix drawn once per process
/// and a counter (no random draw, no formatting machinery and no allocation per record).
fn event_id() -> EventId {
    static PREFIX: LazyLock<String> = LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut counter = itoa::Buffer::new();
    let counter = counter.format(NEXT.fetch_add(1, Ordering::Relaxed));
    let mut id = EventId {
        bytes: [0; EVENT_ID_MAX],
        len: 0,
    };
    for part in [PREFIX.as_bytes(), b"-", counter.as_bytes()] {
        id.bytes[id.len..id.len + part.len()].copy_from_slice(part);
        id.len += part.len();
    }
    id
}

/// The longest event id: a simple UUID (32 hex digits), a dash and a `u64`'s 20 digits.
const EVENT_ID_MAX: usize = 32 + 1 + 20;

/// A generated event id, on the stack.
struct EventId {
    bytes: [u8; EVENT_ID_MAX],
    len: usize,
}

impl EventId {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// `record` with its stream's `content_type` when it came without one (written by a client
/// that sets no content type).
pub(super) fn with_stream_content_type(
    mut record: Record,
    content_type: Option<&String>,
) -> Record {
    if record.message.content_type.is_empty() {
        record.message.content_type = content_type.cloned().unwrap_or_default();
    }
    record
}

/// The record read from Kafka (librdkafka's message, not an error) as a broker record.
pub(super) fn decode(record: &rd::rd_kafka_message_t) -> Record {
    let mut content_type = String::new();
    let mut headers = BTreeMap::new();
    for (name, value) in kafka_headers(record) {
        let value = value
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .unwrap_or_default();
        // Names are nearly always lower case already: copied only when they are kept.
        let name = match name.iter().any(|byte| byte.is_ascii_uppercase()) {
            true => Cow::Owned(String::from_utf8_lossy(name).to_ascii_lowercase()),
            false => String::from_utf8_lossy(name),
        };
        match name.strip_prefix(EVENT_ATTRIBUTE_PREFIX) {
            _ if name == CONTENT_TYPE => content_type = value,
            Some("specversion") => {}
            Some("datacontenttype") if content_type.is_empty() => content_type = value,
            Some(_) if ATTRIBUTES.contains(&name.as_ref()) => {
                headers.insert(name.into_owned(), value);
            }
            Some(extension) => {
                headers.insert(extension.to_owned(), value);
            }
            None => {
                headers.insert(name.into_owned(), value);
            }
        }
    }
    let key = unsafe { bytes_of(record.key, record.key_len) }.map(Bytes::copy_from_slice);
    if let Some(key) = key.as_ref().and_then(|key| std::str::from_utf8(key).ok()) {
        headers
            .entry(PARTITION_KEY.to_owned())
            .or_insert_with(|| key.to_owned());
    }
    let mut timestamp_type = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    let timestamp_ms = unsafe { rd::rd_kafka_message_timestamp(record, &mut timestamp_type) };
    Record {
        partition: record.partition as u32,
        offset: record.offset as u64,
        timestamp_ms: timestamp_ms.max(0),
        message: Message {
            key,
            payload: Bytes::copy_from_slice(
                unsafe { bytes_of(record.payload, record.len) }.unwrap_or_default(),
            ),
            content_type,
            headers: headers.into(),
        },
    }
}

/// The headers of a received record: each name, and its value (`None`: a null value). Read
/// from the bytes the broker sent when they are well formed, else from librdkafka's parsed list.
fn kafka_headers(record: &rd::rd_kafka_message_t) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    let (mut data, mut size) = (std::ptr::null(), 0);
    let sent = unsafe { rd::rd_kafka_message_headers_serialized(record, &mut data, &mut size) };
    let wire = (sent == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        .then(|| unsafe { bytes_of(data.cast::<u8>(), size) })
        .flatten()
        .and_then(wire_headers::parse);
    let parsed = wire.is_none().then(|| parsed_headers(record));
    wire.into_iter()
        .flatten()
        .chain(parsed.into_iter().flatten())
}

/// The headers of a received record, as librdkafka parses them into a list it keeps.
fn parsed_headers(record: &rd::rd_kafka_message_t) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    let mut list = std::ptr::null_mut();
    // Parsed by librdkafka on first use, and kept with the message.
    let parsed = unsafe { rd::rd_kafka_message_headers(record, &mut list) };
    let list = (parsed == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then_some(list);
    (0..).map_while(move |index| {
        let (mut name, mut value, mut size) = (std::ptr::null(), std::ptr::null(), 0);
        let found =
            unsafe { rd::rd_kafka_header_get_all(list?, index, &mut name, &mut value, &mut size) };
        if found != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return None;
        }
        let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes();
        Some((name, unsafe { bytes_of(value, size) }))
    })
}

/// The `len` bytes at `data`, which live as long as the message they belong to.
unsafe fn bytes_of<'a, T>(data: *const T, len: usize) -> Option<&'a [u8]> {
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts(data.cast(), len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names and values in `headers`, in order.
    fn listed(headers: &RecordHeaders) -> Vec<(String, String)> {
        (0..)
            .map_while(|index| {
                let (mut name, mut value, mut size) = (std::ptr::null(), std::ptr::null(), 0);
                let found = unsafe {
                    rd::rd_kafka_header_get_all(
                        headers.as_ptr(),
                        index,
                        &mut name,
                        &mut value,
                        &mut size,
                    )
                };
                (found == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then(|| {
                    let name = unsafe { std::ffi::CStr::from_ptr(name) };
                    let value = unsafe { bytes_of(value, size) }.unwrap_or_default();
                    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                    (text(name.to_bytes()), text(value))
                })
            })
            .collect()
    }

    #[test]
    fn a_message_becomes_cloudevents_headers_and_its_riff_headers_extensions() {
        let mut message = Message::new("{}", "application/json");
        message.headers.insert("trace".into(), "abc".into());
        message.headers.insert("partitionkey".into(), "k1".into());
        let (key, headers) = encode(&message);
        let listed = listed(&headers);
        let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "ce_specversion",
                "ce_id",
                "ce_type",
                "ce_source",
                "ce_partitionkey",
                "ce_trace"
            ]
        );
        let value = |name: &str| &listed.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(value("content-type"), "application/json");
        assert_eq!(value("ce_specversion"), "1.0");
        assert_eq!(value("ce_trace"), "abc");
        assert_eq!(key.as_deref(), Some(&b"k1"[..]));
    }

    #[test]
    fn a_packed_list_takes_headers_beyond_its_room() {
        let mut headers = RecordHeaders::packed(1, 4);
        let long = "v".repeat(1000);
        headers.add("a", b"123");
        headers.add("b", long.as_bytes());
        headers.add("c", b"");
        let expected = [("a", "123"), ("b", long.as_str()), ("c", "")]
            .map(|(name, value)| (name.to_owned(), value.to_owned()));
        assert_eq!(listed(&headers), expected);
    }

    #[test]
    fn generated_event_ids_share_the_process_prefix_and_never_repeat() {
        let (first, second) = (event_id(), event_id());
        let (first, second) = (first.as_bytes(), second.as_bytes());
        assert_ne!(first, second);
        assert_eq!(first[..33], second[..33], "one prefix and its dash");
        assert_eq!(first[32], b'-');
    }

    #[test]
    fn an_event_id_of_its_own_is_kept() {
        let mut message = Message::new("1", "text/plain");
        message.headers.insert("ce_id".into(), "mine".into());
        let (_, headers) = encode(&message);
        let ids: Vec<_> = listed(&headers)
            .into_iter()
            .filter(|(name, _)| name == "ce_id")
            .collect();
        assert_eq!(ids, [("ce_id".to_owned(), "mine".to_owned())]);
    }
}
