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

/// `spec.window` as written: which windows a record belongs to, on which clock, and when each
/// closes (one function call per window). Without `kind` and `time`: riff's tumbling windows on
/// the processing clock, opened by their first record.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// `tumbling` (default): back-to-back windows of `duration`; `sliding`: windows of `size`
    /// starting every `every`, a record in each that covers it; `session`: a window per burst,
    /// closed after `gap` without records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<WindowKind>,
    /// Length of a tumbling window, Go-style: `500ms`, `10s`, `1m30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub duration: Option<String>,
    /// Number of input messages after which a window closes, whichever bound comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub count: Option<u64>,
    /// Length of a sliding window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub size: Option<String>,
    /// How often a sliding window starts (at most `size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub every: Option<String>,
    /// A session window closes after this long without a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub gap: Option<String>,
    /// `processing` (default): when riff reads a record; `event`: when it happened, its
    /// CloudEvents `time` (`ce_time`) or else its Kafka timestamp, windows closing as the
    /// watermark passes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeBasis>,
    /// Tumbling windows on the processing clock start at multiples of `duration` since the
    /// epoch instead of at their first record (event-time windows always do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub align: Option<bool>,
    /// `key`: every record key has windows of its own (one call per key and window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_by: Option<KeyBy>,
    /// Event time: a partition without records for this long no longer holds the watermark
    /// back (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = positive_duration_schema)]
    pub idle_timeout: Option<String>,
    /// Event time: how long past its end a window waits for late records before it closes
    /// (default 0s); a record whose windows all closed goes to the dead-letter stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = duration_schema)]
    pub allowed_lateness: Option<String>,
}

/// `spec.window.kind`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WindowKind {
    #[default]
    Tumbling,
    Sliding,
    Session,
}

/// `spec.window.time`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TimeBasis {
    #[default]
    Processing,
    Event,
}

/// `spec.window.keyBy`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum KeyBy {
    Key,
}

/// The schema of a field holding a Go duration that may be zero.
fn duration_schema(schema: &mut schemars::Schema) {
    schema.insert("pattern".into(), GO_DURATION.into());
}

/// How long an event-time partition may be silent before the watermark moves on without it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A checked window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedWindow {
    /// Which windows a record belongs to.
    pub shape: Shape,
    /// Close a window after this many messages.
    pub count: Option<u64>,
    /// The clock windows are cut on.
    pub time: Clock,
    /// Every record key has windows of its own.
    pub per_key: bool,
}

/// The windows a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Back to back, `duration` long (`None`: closed by count only), opened by their first
    /// record unless `aligned` to multiples of `duration` since the epoch.
    Tumbling {
        duration: Option<Duration>,
        aligned: bool,
    },
    /// `size` long, one starting at every multiple of `every` since the epoch.
    Sliding { size: Duration, every: Duration },
    /// A burst of records, closed `gap` after its last one.
    Session { gap: Duration },
}

/// The clock of a processor's windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// When riff reads a record.
    Processing,
    /// When the record happened; a window closes once the watermark (the lowest of the
    /// partitions' latest event times, silent partitions left out after `idle_timeout`)
    /// passed its end by `allowed_lateness`.
    Event {
        idle_timeout: Duration,
        allowed_lateness: Duration,
    },
}

impl ResolvedWindow {
    /// riff's window: a tumbling window on the processing clock, opened by its first record
    /// and lasting `duration` or `count` records, over every record. Its records stream into
    /// its call as they come.
    pub fn is_streamed(&self) -> bool {
        matches!(self.shape, Shape::Tumbling { aligned: false, .. })
            && self.time == Clock::Processing
            && !self.per_key
    }

    /// The tumbling window length, if this is one.
    pub fn duration(&self) -> Option<Duration> {
        match self.shape {
            Shape::Tumbling { duration, .. } => duration,
            _ => None,
        }
    }
}

impl Default for ResolvedWindow {
    /// riff's behaviour: tumbling windows of 60 s, no count bound.
    fn default() -> Self {
        ResolvedWindow {
            shape: Shape::Tumbling {
                duration: Some(DEFAULT_WINDOW_DURATION),
                aligned: false,
            },
            count: None,
            time: Clock::Processing,
            per_key: false,
        }
    }
}

impl Window {
    /// Parses and checks the fields; a field of another kind or clock is refused. Error paths
    /// are relative to the window (`duration`, `count`, ...).
    pub fn resolve(&self) -> Result<ResolvedWindow, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut positive = |field: &str, text: &Option<String>| {
            (text.as_deref()).and_then(|text| positive_duration(field, text, &mut errors))
        };
        let duration = positive("duration", &self.duration);
        let size = positive("size", &self.size);
        let every = positive("every", &self.every);
        let gap = positive("gap", &self.gap);
        let idle_timeout = positive("idleTimeout", &self.idle_timeout);
        let allowed_lateness = (self.allowed_lateness.as_deref()).and_then(|text| {
            parse_go_duration(text)
                .map_err(|detail| {
                    errors.push(FieldError::invalid("allowedLateness", text, &detail))
                })
                .ok()
        });
        if self.count == Some(0) {
            errors.push(FieldError::invalid("count", 0u64, "must be at least 1"));
        }
        let kind = self.kind.unwrap_or_default();
        let time = self.time.unwrap_or_default();
        let (tumbling, sliding, session) = (
            kind == WindowKind::Tumbling,
            kind == WindowKind::Sliding,
            kind == WindowKind::Session,
        );
        let event = time == TimeBasis::Event;
        let (sliding_only, event_only) = ("only for sliding windows", "only with time: event");
        let tumbling_only = "only for tumbling windows (sliding ones have size and every)";
        let align_only = "only for tumbling windows on the processing clock \
                          (event-time windows are always aligned)";
        // (field, whether it is set, whether this kind and clock take it, why not)
        let applicable = [
            ("duration", self.duration.is_some(), tumbling, tumbling_only),
            (
                "align",
                self.align.is_some(),
                tumbling && !event,
                align_only,
            ),
            ("size", self.size.is_some(), sliding, sliding_only),
            ("every", self.every.is_some(), sliding, sliding_only),
            (
                "gap",
                self.gap.is_some(),
                session,
                "only for session windows",
            ),
            (
                "idleTimeout",
                self.idle_timeout.is_some(),
                event,
                event_only,
            ),
            (
                "allowedLateness",
                self.allowed_lateness.is_some(),
                event,
                event_only,
            ),
        ];
        for (field, set, allowed, detail) in applicable {
            if set && !allowed {
                errors.push(FieldError::forbidden(field, detail));
            }
        }
        let shape = match kind {
            WindowKind::Tumbling => {
                let duration = match (duration, self.count) {
                    (None, None) => Some(DEFAULT_WINDOW_DURATION),
                    (None, Some(_)) if event => {
                        errors.push(FieldError::required(
                            "duration",
                            "event-time tumbling windows need a duration",
                        ));
                        None
                    }
                    (duration, _) => duration,
                };
                Shape::Tumbling {
                    duration,
                    aligned: event || self.align == Some(true),
                }
            }
            WindowKind::Sliding => {
                if self.size.is_none() {
                    errors.push(FieldError::required("size", "sliding windows need a size"));
                }
                if self.every.is_none() {
                    errors.push(FieldError::required("every", "sliding windows need every"));
                }
                if let (Some(size), Some(every), Some(text)) = (size, every, &self.every) {
                    if every > size {
                        errors.push(FieldError::invalid(
                            "every",
                            text.as_str(),
                            "must be at most size",
                        ));
                    }
                }
                Shape::Sliding {
                    size: size.unwrap_or_default(),
                    every: every.unwrap_or_default(),
                }
            }
            WindowKind::Session => {
                if self.gap.is_none() {
                    errors.push(FieldError::required("gap", "session windows need a gap"));
                }
                Shape::Session {
                    gap: gap.unwrap_or_default(),
                }
            }
        };
        errors.into_result()?;
        Ok(ResolvedWindow {
            shape,
            count: self.count,
            time: match time {
                TimeBasis::Processing => Clock::Processing,
                TimeBasis::Event => Clock::Event {
                    idle_timeout: idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
                    allowed_lateness: allowed_lateness.unwrap_or_default(),
                },
            },
            per_key: self.key_by == Some(KeyBy::Key),
        })
    }

    /// The window as the sidecar's environment (`WINDOW_*`), the fields that are set.
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        let json = serde_json::to_value(self).expect("a window serializes");
        let object = json.as_object().expect("a window is an object");
        ENV.iter()
            .filter_map(|(name, field)| {
                object.get(*field).map(|value| match value {
                    serde_json::Value::String(text) => (*name, text.clone()),
                    other => (*name, other.to_string()),
                })
            })
            .collect()
    }

    /// The window the sidecar's environment (`WINDOW_*`) describes; `lookup` gives a variable's
    /// value. The error names the variable.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Window, String> {
        let mut object = serde_json::Map::new();
        for (name, field) in ENV {
            let Some(text) = lookup(name) else { continue };
            let value = match field {
                "count" => (text.parse::<u64>().map(serde_json::Value::from))
                    .map_err(|_| format!("{name}: {text:?}: must be a count"))?,
                "align" => (text.parse::<bool>().map(serde_json::Value::from))
                    .map_err(|_| format!("{name}: {text:?}: must be true or false"))?,
                _ => serde_json::Value::String(text.clone()),
            };
            let single = serde_json::Map::from_iter([(field.to_owned(), value.clone())]);
            serde_json::from_value::<Window>(single.into())
                .map_err(|error| format!("{name}: {text:?}: {error}"))?;
            object.insert(field.to_owned(), value);
        }
        serde_json::from_value(object.into()).map_err(|error| format!("WINDOW_*: {error}"))
    }
}

/// The sidecar's environment variable of each window field.
const ENV: [(&str, &str); 11] = [
    ("WINDOW_KIND", "kind"),
    ("WINDOW_DURATION", "duration"),
    ("WINDOW_COUNT", "count"),
    ("WINDOW_SIZE", "size"),
    ("WINDOW_EVERY", "every"),
    ("WINDOW_GAP", "gap"),
    ("WINDOW_TIME", "time"),
    ("WINDOW_ALIGN", "align"),
    ("WINDOW_KEY_BY", "keyBy"),
    ("WINDOW_IDLE_TIMEOUT", "idleTimeout"),
    ("WINDOW_ALLOWED_LATENESS", "allowedLateness"),
];

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
            ..Window::default()
        }
    }

    fn tumbling(duration: Option<Duration>, count: Option<u64>) -> ResolvedWindow {
        ResolvedWindow {
            shape: Shape::Tumbling {
                duration,
                aligned: false,
            },
            count,
            ..ResolvedWindow::default()
        }
    }

    fn yaml(text: &str) -> Result<ResolvedWindow, String> {
        let window: Window = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        window.resolve().map_err(|e| e.to_string())
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
        let default = tumbling(Some(Duration::from_secs(60)), None);
        assert_eq!(ResolvedWindow::default(), default);
        assert_eq!(Window::default().resolve().unwrap(), default);
    }

    #[test]
    fn either_bound_alone_or_both() {
        assert_eq!(
            window(Some("10s"), None).resolve().unwrap(),
            tumbling(Some(Duration::from_secs(10)), None)
        );
        assert_eq!(
            window(None, Some(100)).resolve().unwrap(),
            tumbling(None, Some(100))
        );
        assert_eq!(
            window(Some("500ms"), Some(1)).resolve().unwrap(),
            tumbling(Some(Duration::from_millis(500)), Some(1))
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

    #[test]
    fn event_time_sliding_and_session_windows() {
        let secs = Duration::from_secs;
        assert_eq!(
            yaml("{time: event, duration: 1s, keyBy: key, allowedLateness: 2s}"),
            Ok(ResolvedWindow {
                shape: Shape::Tumbling {
                    duration: Some(secs(1)),
                    aligned: true
                },
                count: None,
                time: Clock::Event {
                    idle_timeout: DEFAULT_IDLE_TIMEOUT,
                    allowed_lateness: secs(2)
                },
                per_key: true,
            })
        );
        let sliding = yaml("{kind: sliding, size: 10s, every: 1s, count: 5}").unwrap();
        assert_eq!(
            sliding.shape,
            Shape::Sliding {
                size: secs(10),
                every: secs(1)
            }
        );
        assert_eq!((sliding.count, sliding.time), (Some(5), Clock::Processing));
        assert!(!sliding.is_streamed());
        let session = yaml("{kind: session, gap: 30s, time: event, idleTimeout: 1s}").unwrap();
        assert_eq!(session.shape, Shape::Session { gap: secs(30) });
        assert_eq!(
            session.time,
            Clock::Event {
                idle_timeout: secs(1),
                allowed_lateness: Duration::ZERO
            }
        );
        let aligned = yaml("{duration: 1m, align: true}").unwrap();
        assert_eq!(
            aligned.shape,
            Shape::Tumbling {
                duration: Some(secs(60)),
                aligned: true
            }
        );
        assert!(!aligned.is_streamed());
        assert!(Window::default().resolve().unwrap().is_streamed());
    }

    #[test]
    fn fields_of_another_kind_or_clock_are_refused() {
        assert_eq!(
            yaml("{kind: sliding, size: 1s, every: 2s, duration: 1s, gap: 1s}").unwrap_err(),
            "[duration: Forbidden: only for tumbling windows (sliding ones have size and every), \
             gap: Forbidden: only for session windows, every: Invalid value: \"2s\": must be at most size]"
        );
        assert_eq!(
            yaml("{kind: session, allowedLateness: 1s}").unwrap_err(),
            "[allowedLateness: Forbidden: only with time: event, gap: Required value: session windows need a gap]"
        );
        assert_eq!(
            yaml("{kind: sliding}").unwrap_err(),
            "[size: Required value: sliding windows need a size, every: Required value: sliding windows need every]"
        );
        assert_eq!(
            yaml("{time: event, count: 10}").unwrap_err(),
            "duration: Required value: event-time tumbling windows need a duration"
        );
        assert_eq!(
            yaml("{time: event, duration: 1s, align: false}").unwrap_err(),
            "align: Forbidden: only for tumbling windows on the processing clock (event-time windows are always aligned)"
        );
        assert!(yaml("{kind: hopping}")
            .unwrap_err()
            .contains("unknown variant `hopping`"));
    }

    #[test]
    fn the_sidecar_environment_round_trips() {
        let window: Window = serde_norway::from_str(
            "{kind: sliding, size: 10s, every: 1s, count: 7, time: event, keyBy: key, allowedLateness: 0s}",
        )
        .unwrap();
        let env = window.to_env();
        assert!(env.contains(&("WINDOW_COUNT", "7".to_owned())));
        assert!(env.contains(&("WINDOW_KEY_BY", "key".to_owned())));
        let lookup = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        assert_eq!(Window::from_env(lookup), Ok(window));
        let bad = |name: &str| (name == "WINDOW_TIME").then(|| "wall".to_owned());
        assert!(Window::from_env(bad)
            .unwrap_err()
            .starts_with("WINDOW_TIME: \"wall\": unknown variant"));
        let bad = |name: &str| (name == "WINDOW_COUNT").then(|| "many".to_owned());
        assert_eq!(
            Window::from_env(bad).unwrap_err(),
            "WINDOW_COUNT: \"many\": must be a count"
        );
    }
}
