//! The values a function receives and emits: a [`Payload`] (bytes of a content type, decoded on
//! request) plus its headers, together a [`Message`].

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;

use crate::{Error, Format};

/// Message headers (riff headers, e.g. CloudEvent extensions), name to value.
pub type Headers = HashMap<String, String>;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain";
const OCTET_STREAM: &str = "application/octet-stream";

/// A value: bytes and their content type, decoded only when asked.
///
/// An input's payloads are its frames' bytes and content types as received (a frame without a
/// content type is `application/octet-stream`); nothing is decoded until the function calls
/// [`text`](Payload::text) or [`json`](Payload::json). A payload that an output's negotiated
/// content type accepts is sent byte for byte, so a function that forwards a payload forwards
/// the same bytes (see [`crate::Output::send`] for the conversions otherwise).
///
/// An input payload that cannot be decoded as asked gives [`Error::Decode`]; when the function
/// propagates it, the call fails with `UNKNOWN` `Invoker: Bad Input Signal: input <i> (<name>):
/// ...`.
#[derive(Debug, Clone)]
pub struct Payload {
    bytes: Bytes,
    content_type: Cow<'static, str>,
    format: Format,
    /// The index of the input it was received on, if any.
    input: Option<usize>,
}

impl Payload {
    /// A payload of `content_type` holding `bytes` as they are (not validated); an
    /// [`Error::UnsupportedContentType`] unless the content type is a JSON, `text/plain` (UTF-8)
    /// or `application/octet-stream` one.
    pub fn new(
        content_type: impl Into<Cow<'static, str>>,
        bytes: impl Into<Bytes>,
    ) -> Result<Payload, Error> {
        let content_type = content_type.into();
        match Format::of(&content_type) {
            Some(format) if !content_type.trim().is_empty() => {
                Ok(Payload::of(format, content_type, bytes.into(), None))
            }
            _ => Err(Error::UnsupportedContentType(content_type.into_owned())),
        }
    }

    /// An `application/json` payload holding `value` serialized.
    pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Payload, serde_json::Error> {
        let bytes = serde_json::to_vec(value)?;
        Ok(Payload::of(Format::Json, JSON.into(), bytes.into(), None))
    }

    /// The payload of a frame received on input `input`, whose content type (as sent) has
    /// `format`.
    pub(crate) fn received(
        content_type: String,
        format: Format,
        bytes: Bytes,
        input: usize,
    ) -> Self {
        let content_type = match content_type.trim().is_empty() {
            true => OCTET_STREAM.into(),
            false => content_type.into(),
        };
        Payload::of(format, content_type, bytes, Some(input))
    }

    fn of(
        format: Format,
        content_type: Cow<'static, str>,
        bytes: Bytes,
        input: Option<usize>,
    ) -> Self {
        Payload {
            bytes,
            content_type,
            format,
            input,
        }
    }

    /// The content type, e.g. `application/json`.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// What the content type holds.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The bytes, as received or encoded.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The bytes, as received or encoded.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The bytes as UTF-8 text: a text payload's text, a JSON payload's JSON text, or raw bytes
    /// that are UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.bytes)
            .map_err(|error| self.invalid(format!("not UTF-8: {error}")))
    }

    /// The payload deserialized from JSON, e.g. `let value: serde_json::Value =
    /// payload.json()?` or `let n: f64 = payload.json()?`: a JSON payload's document, a text
    /// payload as a JSON string, or raw bytes that are a JSON document.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let decoded = match self.format {
            Format::Text => serde_json::from_value(self.text()?.into()),
            Format::Json | Format::Bytes => serde_json::from_slice(&self.bytes),
        };
        decoded.map_err(|error| self.invalid(error))
    }

    /// An [`Error::Decode`] of this payload.
    fn invalid(&self, reason: impl ToString) -> Error {
        Error::Decode {
            input: self.input,
            content_type: self.content_type.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Converts this payload for an output of `format`, returning its bytes and its own content
    /// type. The bytes are kept as they are when the formats are the same, when JSON or text
    /// goes to raw bytes, when JSON goes to text (if UTF-8) and when raw bytes go to text (if
    /// UTF-8) or JSON (if a JSON document); text going to JSON becomes a JSON string.
    pub(crate) fn convert(self, format: Format) -> Result<(Bytes, Cow<'static, str>), String> {
        let utf8 = |what: &str| {
            std::str::from_utf8(&self.bytes)
                .map_err(|error| format!("{what} are not UTF-8 text: {error}"))
        };
        match (self.format, format) {
            (Format::Json, Format::Json)
            | (Format::Text, Format::Text)
            | (Format::Bytes, Format::Bytes)
            | (Format::Json | Format::Text, Format::Bytes) => {}
            (Format::Json, Format::Text) => _ = utf8("JSON bytes")?,
            (Format::Bytes, Format::Text) => _ = utf8("bytes")?,
            (Format::Bytes, Format::Json) => {
                serde_json::from_slice::<IgnoredAny>(&self.bytes)
                    .map_err(|error| format!("bytes are not a JSON document: {error}"))?;
            }
            (Format::Text, Format::Json) => {
                let json = serde_json::to_vec(utf8("text bytes")?).map_err(|e| e.to_string())?;
                return Ok((json.into(), self.content_type));
            }
        }
        Ok((self.bytes, self.content_type))
    }
}

/// Payloads are equal when they hold the same bytes of the same content type.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.content_type == other.content_type && self.bytes == other.bytes
    }
}

/// An `application/json` payload.
impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        let bytes = value.to_string().into_bytes();
        Payload::of(Format::Json, JSON.into(), bytes.into(), None)
    }
}

/// A `text/plain` payload.
impl From<String> for Payload {
    fn from(text: String) -> Self {
        Payload::of(Format::Text, TEXT.into(), text.into(), None)
    }
}

/// A `text/plain` payload.
impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Payload::from(text.to_owned())
    }
}

/// An `application/octet-stream` payload.
impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Payload::of(Format::Bytes, OCTET_STREAM.into(), bytes, None)
    }
}

/// An `application/octet-stream` payload.
impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload::from(Bytes::from(bytes))
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
