//! Content types: parsing, the [`Format`] of a supported type, and negotiation of an output's
//! expected types (docs/riff-compatibility.md §5.4).

use std::fmt;

/// The content types this SDK produces, as listed in `Not Acceptable` / `Unsupported Media Type`
/// messages.
pub(crate) const SUPPORTED: &str =
    "application/json (and +json types), text/plain (utf-8), application/octet-stream";

/// What a supported content type holds, which says how a [`crate::Payload`] of that type decodes
/// and converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON document: `application/json` and `+json` types (UTF-8).
    Json,
    /// UTF-8 text: `text/plain` (UTF-8).
    Text,
    /// Raw bytes: `application/octet-stream`.
    Bytes,
}

impl Format {
    /// The format of a frame's content type (empty means `application/octet-stream`); `None` if
    /// it is malformed or unsupported.
    pub(crate) fn of(content_type: &str) -> Option<Format> {
        if content_type.trim().is_empty() {
            return Some(Format::Bytes);
        }
        ContentType::parse(content_type)?.format()
    }
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

    /// Picks the concrete type (and its format) to produce for an output whose expected content
    /// type is `accept`: a comma-separated, preference-ordered list (HTTP `Accept` syntax, `q`
    /// honoured, `*/*` and `application/*` give `application/json`, `text/*` gives
    /// `text/plain`).
    pub(crate) fn negotiate(accept: &str) -> Option<(Self, Format)> {
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
            .find_map(|candidate| candidate.format().map(|format| (candidate, format)))
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
