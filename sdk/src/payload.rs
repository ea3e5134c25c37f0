//! The values a function receives and emits: a [`Payload`] plus its headers, together a [`Message`].

use std::collections::HashMap;

use bytes::Bytes;

/// Message headers (riff headers, e.g. CloudEvent extensions), name to value.
pub type Headers = HashMap<String, String>;

/// A decoded value.
///
/// Inputs are decoded according to their frame's content type: `application/json` and `+json`
/// types give [`Payload::Json`], `text/plain` gives [`Payload::Text`], `application/octet-stream`
/// (and frames without a content type) give [`Payload::Bytes`]. Outputs accept any variant and
/// encode it in the content type negotiated for the output (see [`crate::Output::send`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A JSON document.
    Json(serde_json::Value),
    /// A string.
    Text(String),
    /// Raw bytes.
    Bytes(Bytes),
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Payload::Json(value)
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Self {
        Payload::Text(text)
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Payload::Text(text.to_owned())
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Payload::Bytes(bytes)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload::Bytes(bytes.into())
    }
}

/// A payload with its headers: one item of an input or output stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The value.
    pub payload: Payload,
    /// The headers travelling with the value.
    pub headers: Headers,
}

impl Message {
    /// A message without headers.
    pub fn new(payload: impl Into<Payload>) -> Self {
        Message {
            payload: payload.into(),
            headers: Headers::new(),
        }
    }

    /// This message with one more header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

impl From<Payload> for Message {
    fn from(payload: Payload) -> Self {
        Message::new(payload)
    }
}
