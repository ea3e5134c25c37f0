//! `riff local status`: a live table of the processors of a running `riff local run`, read from
//! its `GET /metrics` (`--metrics-address`): records in and out per second, consumer lag,
//! records in flight, calls, their mean latency, failures, dead letters, late records and
//! function restarts.
//! Rates and latency are over the last interval, so the first table comes one interval after
//! the start; `--once` prints that table and exits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::streaming::table;

/// How long a scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// One sample of the OpenMetrics text: its name, labels and value.
#[derive(Debug, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples read at one instant.
struct Scrape {
    at: Instant,
    samples: Vec<Sample>,
}

/// Prints the table every `interval` until `shutdown` (or once).
pub async fn run(
    address: SocketAddr,
    interval: Duration,
    once: bool,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut before = scrape(address).await?;
    let live = !once && std::io::stdout().is_terminal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut shutdown => return Ok(()),
        }
        let text = match scrape(address).await {
            Ok(after) => {
                let text = table(&before, &after);
                before = after;
                text
            }
            Err(error) if !once => format!("{error:#}\n"),
            Err(error) => return Err(error),
        };
        if live {
            print!("\x1b[2J\x1b[H"); // a terminal shows the latest table only
        }
        print!("{text}");
        if once {
            return Ok(());
        } else if !live {
            println!();
        }
    }
}

/// `GET /metrics` of `address`, parsed.
async fn scrape(address: SocketAddr) -> anyhow::Result<Scrape> {
    let unreachable = || {
        format!("no metrics at {address}: is `riff local run --metrics-address {address}` running?")
    };
    let get = async {
        let mut connection = TcpStream::connect(address).await?;
        let request =
            format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        connection.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        connection.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(SCRAPE_TIMEOUT, get)
        .await
        .map_err(anyhow::Error::from)
        .and_then(|read| read.map_err(anyhow::Error::from))
        .with_context(unreachable)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    if !head.starts_with("HTTP/1.1 200") {
        let status = head.lines().next().unwrap_or_default();
        bail!("{address} answered {status:?} to GET /metrics");
    }
    let samples = parse(body).with_context(|| format!("the metrics of {address}"))?;
    Ok(Scrape {
        at: Instant::now(),
        samples,
    })
}

/// The samples of OpenMetrics text (comments skipped).
fn parse(text: &str) -> anyhow::Result<Vec<Sample>> {
    let sample = |line: &str| -> Option<Sample> {
        let name_end = line.find(['{', ' '])?;
        let (name, mut rest) = line.split_at(name_end);
        let mut labels = BTreeMap::new();
        if let Some(inside) = rest.strip_prefix('{') {
            (labels, rest) = parse_labels(inside)?;
        }
        Some(Sample {
            name: name.to_owned(),
            labels,
            value: rest.split_whitespace().next()?.parse().ok()?,
        })
    };
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| sample(line).with_context(|| format!("not an OpenMetrics sample: {line:?}")))
        .collect()
}

/// The labels `k="v",...}` of a sample (after its `{`), and what follows the `}`.
fn parse_labels(mut rest: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    escaped => value.push(escaped),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = &after[end + 1..];
    }
}

/// What one processor did between two scrapes.
#[derive(Default)]
struct Row {
    read: f64,
    written: f64,
    lag: f64,
    in_flight: f64,
    calls: f64,
    call_seconds: f64,
    failures: f64,
    dead_letters: f64,
    late: f64,
    restarts: f64,
}

impl Row {
    fn add(&mut self, sample: &Sample) {
        let value = sample.value;
        match sample.name.as_str() {
            "riff_records_read_total" => self.read += value,
            "riff_records_written_total" => self.written += value,
            "riff_consumer_lag" => self.lag += value,
            "riff_in_flight_records" => self.in_flight += value,
            "riff_call_duration_seconds_count" => self.calls += value,
            "riff_call_duration_seconds_sum" => self.call_seconds += value,
            "riff_call_failures_total" => self.failures += value,
            "riff_dead_letters_total" => self.dead_letters += value,
            "riff_late_records_total" => self.late += value,
            "riff_function_restarts_total" => self.restarts += value,
            _ => {}
        }
    }
}

/// Every processor's totals, by (namespace, processor).
fn rows(scrape: &Scrape) -> BTreeMap<(String, String), Row> {
    let mut rows: BTreeMap<_, Row> = BTreeMap::new();
    for sample in &scrape.samples {
        let (Some(namespace), Some(processor)) = (
            sample.labels.get("namespace"),
            sample.labels.get("processor"),
        ) else {
            continue;
        };
        let key = (namespace.clone(), processor.clone());
        rows.entry(key).or_default().add(sample);
    }
    rows
}

/// The table of what every processor did from `before` to `after`.
fn table(before: &Scrape, after: &Scrape) -> String {
    let seconds = after
        .at
        .duration_since(before.at)
        .as_secs_f64()
        .max(f64::EPSILON);
    let earlier = rows(before);
    let rows: Vec<Vec<String>> = rows(after)
        .into_iter()
        .map(|((namespace, processor), now)| {
            let then = earlier.get(&(namespace.clone(), processor.clone()));
            let since = |value: fn(&Row) -> f64| value(&now) - then.map_or(0.0, value);
            let rate = |value: fn(&Row) -> f64| format!("{:.0}", since(value) / seconds);
            let calls = since(|row| row.calls);
            let latency = match calls > 0.0 {
                true => human_seconds(since(|row| row.call_seconds) / calls),
                false => "-".to_owned(),
            };
            let count = |value: f64| format!("{value:.0}");
            vec![
                namespace,
                processor,
                rate(|row| row.read),
                rate(|row| row.written),
                count(now.lag),
                count(now.in_flight),
                count(now.calls),
                latency,
                count(now.failures),
                count(now.dead_letters),
                count(now.late),
                count(now.restarts),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "No processors.\n".to_owned();
    }
    let headers = [
        "namespace",
        "processor",
        "in/s",
        "out/s",
        "lag",
        "in-flight",
        "calls",
        "latency",
        "failures",
        "dead-letters",
        "late",
        "restarts",
    ];
    table::render(&headers, &rows)
}

/// `850us`, `12ms`, `1.5s`.
fn human_seconds(seconds: f64) -> String {
    let mut text = String::new();
    let _ = match seconds {
        s if s < 0.001 => write!(text, "{:.0}us", s * 1e6),
        s if s < 1.0 => write!(text, "{:.0}ms", s * 1e3),
        s => write!(text, "{s:.1}s"),
    };
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_with_escaped_labels() {
        let text = "# TYPE riff_calls counter\n\
                    riff_calls_total{namespace=\"dev\",processor=\"a\\\"b\"} 3\n\
                    riff_gateway_broker_up 1\n# EOF\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].labels["processor"], "a\"b");
        assert_eq!(samples[0].value, 3.0);
        assert_eq!(samples[1].name, "riff_gateway_broker_up");
        assert!(parse("riff_calls_total{namespace=\"dev} 3").is_err());
    }

    #[test]
    fn the_table_shows_rates_over_the_interval_and_totals() {
        let at = Instant::now();
        let scrape = |at, read: f64, calls: f64, seconds: f64| {
            Scrape {
            at,
            samples: parse(&format!(
                "riff_records_read_total{{namespace=\"dev\",processor=\"sq\",stream=\"in\"}} {read}\n\
                 riff_call_duration_seconds_count{{namespace=\"dev\",processor=\"sq\"}} {calls}\n\
                 riff_call_duration_seconds_sum{{namespace=\"dev\",processor=\"sq\"}} {seconds}\n\
                 riff_consumer_lag{{namespace=\"dev\",processor=\"sq\",stream=\"in\",partition=\"0\"}} 7\n\
                 riff_late_records_total{{namespace=\"dev\",processor=\"sq\"}} 2\n"
            ))
            .unwrap(),
        }
        };
        let before = scrape(at, 100.0, 4.0, 1.0);
        let after = scrape(at + Duration::from_secs(2), 300.0, 6.0, 1.05);
        let table = table(&before, &after);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("NAMESPACE   PROCESSOR   IN/S   OUT/S   LAG"),
            "{table}"
        );
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cells,
            ["dev", "sq", "100", "0", "7", "0", "6", "25ms", "0", "0", "2", "0"]
        );
    }
}
