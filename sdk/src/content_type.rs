//! Content types: parsing, negotiation of an output's expected types, decoding of input payloads
//! and encoding of output payloads (spec 5.4).

use std::fmt;

use bytes::Bytes;

use crate::Payload;

/// The content types this SDK produces, as listed in `Not Acceptable` / `Unsupported Media Type`
/// messages.
pub(crate) const SUPPORTED: &str =
    "application/json (and +json types), text/plain (utf-8), application/octet-stream";

/// How a supported content type maps to a [`Payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Text,
    Bytes,
}

/// A parsed content type: `type/subtype` (lower case) and the parameters that matter here.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContentType {
    essence: String,
    charset: Option<String>,
    quality: f32,
}

impl ContentType {
    /// Parses `type/subtype; param=value; ...`; `None` if it is not of that form.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/')?;
        if kind.is_empty() || subtype.is_empty() || subtype.contains('/') {
            return None;
        }
        let mut content_type = ContentType {
            essence,
            charset: None,
            quality: 1.0,
        };
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "charset" => content_type.charset = Some(value.to_ascii_lowercase()),
                "q" => content_type.quality = value.parse().ok()?,
                _ => {}
            }
        }
        Some(content_type)
    }

    /// A concrete type with this content type's charset.
    fn concrete(&self, essence: &str) -> Self {
        ContentType {
            essence: essence.to_owned(),
            charset: self.charset.clone(),
            quality: 1.0,
        }
    }

    /// The format of a supported concrete type; `None` if unsupported (or a wildcard).
    fn format(&self) -> Option<Format> {
        let utf8 = matches!(self.charset.as_deref(), None | Some("utf-8" | "utf8"));
        let (_, subtype) = self.essence.split_once('/')?;
        match self.essence.as_str() {
            "application/octet-stream" => Some(Format::Bytes),
            "text/plain" if utf8 => Some(Format::Text),
            _ if (self.essence == "application/json" || subtype.ends_with("+json")) && utf8 => {
                Some(Format::Json)
            }
            _ => None,
        }
    }

    /// Picks the concrete type to produce for an output whose expected content type is
    /// `accept`: a comma-separated, preference-ordered list (HTTP `Accept` syntax, `q` honoured,
    /// `*/*` and `application/*` give `application/json`, `text/*` gives `text/plain`).
    pub(crate) fn negotiate(accept: &str) -> Option<Self> {
        let mut ranges: Vec<ContentType> = accept.split(',').filter_map(Self::parse).collect();
        ranges.sort_by(|a, b| b.quality.total_cmp(&a.quality));
        ranges
            .iter()
            .filter(|range| range.quality > 0.0)
            .map(|range| match range.essence.as_str() {
                "*/*" | "application/*" => range.concrete("application/json"),
                "text/*" => range.concrete("text/plain"),
                essence => range.concrete(essence),
            })
            .find(|candidate| candidate.format().is_some())
    }

    /// Encodes `payload` in this (negotiated, hence supported) type.
    ///
    /// JSON takes any JSON value, a string as a JSON string, and bytes only if they already are
    /// a JSON document. Text takes a string, a JSON value as its JSON text, and bytes only if
    /// they are UTF-8. Octet-stream takes bytes, a string's UTF-8 bytes and a JSON value's text.
    pub(crate) fn encode(&self, payload: Payload) -> Result<Vec<u8>, String> {
        let format = self.format().ok_or("unsupported content type")?;
        match (format, payload) {
            (Format::Json, Payload::Json(value)) => Ok(value.to_string().into_bytes()),
            (Format::Json, Payload::Text(text)) => {
                Ok(serde_json::Value::String(text).to_string().into_bytes())
            }
            (Format::Json, Payload::Bytes(bytes)) => {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .map_err(|error| format!("bytes are not a JSON document: {error}"))?;
                Ok(bytes.into())
            }
            (Format::Text | Format::Bytes, Payload::Json(value)) => {
                Ok(value.to_string().into_bytes())
            }
            (Format::Text | Format::Bytes, Payload::Text(text)) => Ok(text.into_bytes()),
            (Format::Text, Payload::Bytes(bytes)) => {
                std::str::from_utf8(&bytes)
                    .map_err(|error| format!("bytes are not UTF-8 text: {error}"))?;
                Ok(bytes.into())
            }
            (Format::Bytes, Payload::Bytes(bytes)) => Ok(bytes.into()),
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.essence)?;
        match &self.charset {
            Some(charset) => write!(f, "; charset={charset}"),
            None => Ok(()),
        }
    }
}

/// Why an input payload could not be decoded.
pub(crate) enum DecodeError {
    /// The content type is malformed or not supported.
    Unsupported,
    /// The payload is not a valid value of its content type.
    Invalid(String),
}

/// Decodes an input payload of content type `content_type` (empty means
/// `application/octet-stream`).
pub(crate) fn decode(content_type: &str, payload: Bytes) -> Result<Payload, DecodeError> {
    if content_type.trim().is_empty() {
        return Ok(Payload::Bytes(payload));
    }
    let format = ContentType::parse(content_type)
        .and_then(|parsed| parsed.format())
        .ok_or(DecodeError::Unsupported)?;
    match format {
        Format::Json => serde_json::from_slice(&payload)
            .map(Payload::Json)
            .map_err(|error| DecodeError::Invalid(error.to_string())),
        Format::Text => String::from_utf8(payload.into())
            .map(Payload::Text)
            .map_err(|error| DecodeError::Invalid(error.to_string())),
        Format::Bytes => Ok(Payload::Bytes(payload)),
    }
}
