//! The unit of data that flows through streams.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
    pub headers: Headers,
}

impl Message {
    /// A keyless message without headers.
    pub fn new(payload: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        Message {
            key: None,
            payload: payload.into(),
            content_type: content_type.into(),
            headers: Headers::default(),
        }
    }

    /// The riff headers: every header but the CloudEvent attributes.
    pub fn riff_headers(&self) -> impl Iterator<Item = (&String, &String)> {
        self.headers
            .iter()
            .filter(|(name, _)| !name.starts_with(EVENT_ATTRIBUTE_PREFIX))
    }
}

/// A message's headers by name. Copies of a message share them (a record read from an in-memory
/// log, or handed to several readers, is copied without copying its headers); a change applies
/// to the changed copy only. A message without headers allocates nothing for them: most
/// records have none.
#[derive(Clone, Default)]
pub struct Headers(Option<Arc<BTreeMap<String, String>>>);

/// What a message without headers dereferences to.
static NO_HEADERS: BTreeMap<String, String> = BTreeMap::new();

impl Deref for Headers {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        self.0.as_deref().unwrap_or(&NO_HEADERS)
    }
}

impl DerefMut for Headers {
    fn deref_mut(&mut self) -> &mut Self::Target {
        Arc::make_mut(self.0.get_or_insert_with(Arc::default))
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<BTreeMap<String, String>> for Headers {
    fn from(headers: BTreeMap<String, String>) -> Self {
        Headers((!headers.is_empty()).then(|| Arc::new(headers)))
    }
}

impl From<Headers> for BTreeMap<String, String> {
    fn from(headers: Headers) -> Self {
        headers.0.map(Arc::unwrap_or_clone).unwrap_or_default()
    }
}

impl FromIterator<(String, String)> for Headers {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(headers: I) -> Self {
        Headers::from(headers.into_iter().collect::<BTreeMap<_, _>>())
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        (**self).iter()
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

/// The wall clock in milliseconds since the Unix epoch, as record timestamps count.
pub fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |since| since.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn a_copy_changes_its_headers_alone() {
        let mut stored = Message::new("1", "application/json");
        stored.headers.insert("ce_id".into(), "a".into());
        let mut read = stored.clone();
        read.headers.insert("riff-error".into(), "refused".into());
        assert_eq!(stored.headers.len(), 1, "the stored message is untouched");
        assert_eq!(
            read.headers.get("riff-error").map(String::as_str),
            Some("refused")
        );
        assert_eq!(read.headers.get("ce_id").map(String::as_str), Some("a"));
    }

    #[test]
    fn no_headers_equal_headers_emptied() {
        let mut emptied = Message::new("1", "application/json");
        emptied
            .headers
            .insert("riff-error".into(), "refused".into());
        emptied.headers.clear();
        assert_eq!(emptied, Message::new("1", "application/json"));
        assert_eq!(format!("{:?}", emptied.headers), "{}");
    }
}
