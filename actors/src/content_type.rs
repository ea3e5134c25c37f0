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
}
