//! Our extension `Processor.spec.window`: when a processor closes a window (one function call).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::field_error::{FieldError, FieldErrors};

/// How long a window lasts when neither bound is set: riff's fixed 60 s.
pub const DEFAULT_WINDOW_DURATION: Duration = Duration::from_secs(60);

/// The schema pattern of a Go duration (`500ms`, `10s`, `1m30s`), as `time.ParseDuration` reads
/// it.
pub(super) const GO_DURATION: &str =
    r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

/// The schema of a field holding a positive Go duration: [`GO_DURATION`]'s pattern, and a CEL
/// rule that it is more than zero.
pub(super) fn positive_duration_schema(schema: &mut schemars::Schema) {
    schema.insert("pattern".into(), GO_DURATION.into());
    let rule = serde_json::json!([{
        "rule": "duration(self) > duration('0s')",
        "message": "must be greater than zero",
    }]);
    schema.insert("x-kubernetes-validations".into(), rule);
}

/// `spec.window` as written: a window closes when either bound is reached.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// Wall-clock length of a window, Go-style: `500ms`, `10s`, `1m30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub duration: Option<String>,
    /// Number of input messages after which a window closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub count: Option<u64>,
}

/// A checked window; at least one bound is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedWindow {
    /// Close the window this long after it opened.
    pub duration: Option<Duration>,
    /// Close the window after this many messages.
    pub count: Option<u64>,
}

impl Default for ResolvedWindow {
    /// riff's behaviour: tumbling windows of 60 s, no count bound.
    fn default() -> Self {
        ResolvedWindow {
            duration: Some(DEFAULT_WINDOW_DURATION),
            count: None,
        }
    }
}

impl Window {
    /// Parses and checks the bounds; with neither set, the default 60 s window. Error paths are
    /// relative to the window (`duration`, `count`).
    pub fn resolve(&self) -> Result<ResolvedWindow, FieldErrors> {
        let mut errors = FieldErrors::new();
        let duration = (self.duration.as_deref())
            .and_then(|text| positive_duration("duration", text, &mut errors));
        if self.count == Some(0) {
            errors.push(FieldError::invalid("count", 0u64, "must be at least 1"));
        }
        errors.into_result()?;
        Ok(match (duration, self.count) {
            (None, None) => ResolvedWindow::default(),
            (duration, count) => ResolvedWindow { duration, count },
        })
    }
}

/// The positive Go duration `text` of field `field`, or `None` with the field error pushed to
/// `errors`.
pub(super) fn positive_duration(
    field: &str,
    text: &str,
    errors: &mut FieldErrors,
) -> Option<Duration> {
    match parse_duration(text) {
        Some(Ok(duration)) if !duration.is_zero() => Some(duration),
        Some(_) => {
            errors.push(FieldError::invalid(
                field,
                text,
                "must be greater than zero",
            ));
            None
        }
        None => {
            let detail = "must be a duration such as 500ms, 10s or 1m";
            errors.push(FieldError::invalid(field, text, detail));
            None
        }
    }
}

/// Parses a Go `time.ParseDuration` string such as `500ms`, `10s` or `1m30s`; the error says what
/// is accepted (negative durations are refused).
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Some(Ok(duration)) => Ok(duration),
        Some(Err(())) => Err("must not be negative".to_owned()),
        None => Err("must be a duration such as 500ms, 10s or 1m30s".to_owned()),
    }
}

/// Parses a Go `time.ParseDuration` string. `None` when malformed; `Some(Err(()))` when negative;
/// otherwise the duration.
fn parse_duration(text: &str) -> Option<Result<Duration, ()>> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(Ok(Duration::ZERO));
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let integer_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (integer, after) = rest.split_at(integer_digits);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => after.split_at(after.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if integer.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: u128 = if integer.is_empty() {
            0
        } else {
            integer.parse().ok()?
        };
        // Go keeps about 18 fractional digits; more cannot change the nanoseconds.
        let fraction = &fraction[..fraction.len().min(18)];
        let part: u128 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().ok()?
        };
        let scale = 10u128.pow(fraction.len() as u32);
        total = total
            .checked_add(whole.checked_mul(nanos_per_unit)? + part * nanos_per_unit / scale)?;
        if total > i64::MAX as u128 {
            return None;
        }
        rest = after;
    }
    let nanos = u64::try_from(total).ok()?;
    Some(if negative && nanos > 0 {
        Err(())
    } else {
        Ok(Duration::from_nanos(nanos))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(duration: Option<&str>, count: Option<u64>) -> Window {
        Window {
            duration: duration.map(Into::into),
            count,
        }
    }

    #[test]
    fn parses_go_durations() {
        let ok = |text: &str| parse_duration(text).unwrap().unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(".5m"), Duration::from_secs(30));
        assert_eq!(ok("2h45m0.5s"), Duration::from_millis(9_900_500));
        assert_eq!(ok("100us"), Duration::from_micros(100));
        assert_eq!(ok("100µs"), Duration::from_micros(100));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("+3s"), Duration::from_secs(3));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0s"), Duration::ZERO);
        assert_eq!(parse_duration("-1s"), Some(Err(())));
        for bad in [
            "",
            "abc",
            "10",
            "1x",
            "s",
            ".s",
            "1.2.3s",
            "-",
            "1s2",
            "9999999999h",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn public_parser_explains_what_is_accepted() {
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_go_duration("-1s"),
            Err("must not be negative".to_owned())
        );
        assert_eq!(
            parse_go_duration("soon"),
            Err("must be a duration such as 500ms, 10s or 1m30s".to_owned())
        );
    }

    #[test]
    fn no_bounds_means_riffs_sixty_seconds() {
        let default = ResolvedWindow {
            duration: Some(Duration::from_secs(60)),
            count: None,
        };
        assert_eq!(ResolvedWindow::default(), default);
        assert_eq!(Window::default().resolve().unwrap(), default);
    }

    #[test]
    fn either_bound_alone_or_both() {
        assert_eq!(
            window(Some("10s"), None).resolve().unwrap(),
            ResolvedWindow {
                duration: Some(Duration::from_secs(10)),
                count: None
            }
        );
        assert_eq!(
            window(None, Some(100)).resolve().unwrap(),
            ResolvedWindow {
                duration: None,
                count: Some(100)
            }
        );
        assert_eq!(
            window(Some("500ms"), Some(1)).resolve().unwrap(),
            ResolvedWindow {
                duration: Some(Duration::from_millis(500)),
                count: Some(1)
            }
        );
    }

    #[test]
    fn invalid_bounds_are_field_errors() {
        assert_eq!(
            window(Some("abc"), None).resolve().unwrap_err().to_string(),
            r#"duration: Invalid value: "abc": must be a duration such as 500ms, 10s or 1m"#
        );
        assert_eq!(
            window(Some("0s"), None).resolve().unwrap_err().to_string(),
            r#"duration: Invalid value: "0s": must be greater than zero"#
        );
        assert_eq!(
            window(Some("-5s"), Some(0))
                .resolve()
                .unwrap_err()
                .to_string(),
            r#"[duration: Invalid value: "-5s": must be greater than zero, count: Invalid value: 0: must be at least 1]"#
        );
    }

    #[test]
    fn serializes_camel_case_and_omits_unset_bounds() {
        let json = serde_json::to_value(window(Some("1m"), None)).unwrap();
        assert_eq!(json, serde_json::json!({"duration": "1m"}));
    }
}
