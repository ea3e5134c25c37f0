//! Content-type compatibility between a message and a stream.

/// The base MIME type (before any `;` parameter), lower-cased and trimmed.
pub fn base(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a message of type `message` may flow on a stream of type `stream`.
///
/// Base types must be equal (parameters such as `charset` are ignored); a stream of `*/*`, or of
/// `type/*`, accepts any matching message.
pub fn compatible(stream: &str, message: &str) -> bool {
    if stream == message {
        return true; // the usual case, checked per record
    }
    let (stream, message) = (base(stream), base(message));
    match stream.split_once('/') {
        _ if stream == "*/*" => true,
        Some((major, "*")) => message.split_once('/').is_some_and(|(m, _)| m == major),
        _ => stream == message,
    }
}

/// Whether `payload` decodes as `content_type`: JSON for `application/json` and `+json` types,
/// UTF-8 for `text/*`; any payload for other types. The error names what is wrong.
pub fn decodes(content_type: &str, payload: &[u8]) -> Result<(), String> {
    let json = |base: &str| base == "application/json" || base.ends_with("+json");
    if content_type == "application/json" || json(&base(content_type)) {
        return serde_json::from_slice::<serde::de::IgnoredAny>(payload)
            .map(|_| ())
            .map_err(|error| format!("invalid {content_type} payload: {error}"));
    }
    if base(content_type).starts_with("text/") {
        return std::str::from_utf8(payload)
            .map(|_| ())
            .map_err(|error| format!("invalid {content_type} payload: {error}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_case_are_ignored() {
        assert!(compatible(
            "application/json",
            "Application/JSON; charset=utf-8"
        ));
        assert!(!compatible("application/json", "text/plain"));
    }

    #[test]
    fn wildcards_accept_their_family() {
        assert!(compatible("*/*", "image/png"));
        assert!(compatible("text/*", "text/csv"));
        assert!(!compatible("text/*", "application/json"));
    }

    #[test]
    fn payloads_must_decode_as_their_content_type() {
        assert_eq!(decodes("application/json", br#"{"a": [1, 2.0]}"#), Ok(()));
        assert_eq!(
            decodes("application/json", b"{not json"),
            Err("invalid application/json payload: key must be a string at line 1 column 2".into())
        );
        assert!(decodes("application/cloudevents+json", b"[").is_err());
        assert!(decodes("text/plain; charset=utf-8", b"\xff").is_err());
        assert_eq!(decodes("text/plain", "héllo".as_bytes()), Ok(()));
        assert_eq!(decodes("application/octet-stream", b"\xff{"), Ok(()));
    }
}
