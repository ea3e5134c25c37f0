//! Measuring helpers: payloads, exact counts and checksums, latency percentiles, CPU time and
//! resident memory of processes, free ports.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// Messages per second.
pub fn rate(messages: usize, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64()
}

/// The `p`th percentile (0..=100) of `samples`, in milliseconds.
pub fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p / 100.0).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

/// The median and the 99th percentile of `samples`, in milliseconds.
pub fn p50_p99(samples: &mut [Duration]) -> (f64, f64) {
    (percentile(samples, 50.0), percentile(samples, 99.0))
}

/// A JSON document of about `size` bytes: `{"n":<i>,"pad":"xxx…"}`.
pub fn json_payload(i: usize, size: usize) -> Bytes {
    padded(format!("{{\"n\":{i},\"pad\":\""), size)
}

/// A JSON document of about `size` bytes stamped with its creation time (ns since the epoch):
/// `{"n":<i>,"t":<ns>,"pad":"xxx…"}`.
pub fn stamped_payload(i: usize, size: usize) -> Bytes {
    padded(format!("{{\"n\":{i},\"t\":{},\"pad\":\"", now_ns()), size)
}

fn padded(head: String, size: usize) -> Bytes {
    let pad = size.saturating_sub(head.len() + 2);
    Bytes::from(format!("{head}{}\"}}", "x".repeat(pad)))
}

/// The unsigned integer field `"<name>":` of a payload made by [`json_payload`] or
/// [`stamped_payload`] (whatever the order of its keys).
pub fn field(payload: &[u8], name: &str) -> Option<u64> {
    let needle = format!("\"{name}\":");
    let at = payload
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())?
        + needle.len();
    let digits: Vec<u8> = payload[at..]
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// FNV-1a, 64 bits.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// An exact count of the records `0..count` made by [`json_payload`]: duplicates, missing
/// records, and an order-independent checksum of the payloads (the sum of their FNV-1a hashes)
/// of the distinct records against the inputs'.
pub struct Tally {
    seen: Vec<bool>,
    expected: u64,
    sum: u64,
    /// Records read, duplicates included.
    pub records: usize,
    /// Records whose `n` was seen before.
    pub duplicates: usize,
    /// Records without a known `n`.
    pub strays: usize,
    /// Records closing the event-time windows ([`crate::kafka::CLOSER`]), called when memory
    /// pressure closed their window early.
    pub closers: usize,
}

impl Tally {
    /// A tally of `count` records of `size` bytes.
    pub fn new(count: usize, size: usize) -> Tally {
        let expected = (0..count).fold(0u64, |sum, i| {
            sum.wrapping_add(fnv1a(&json_payload(i, size)))
        });
        Tally {
            seen: vec![false; count],
            expected,
            sum: 0,
            records: 0,
            duplicates: 0,
            strays: 0,
            closers: 0,
        }
    }

    /// Counts one output record.
    pub fn add(&mut self, payload: &[u8]) {
        self.records += 1;
        match field(payload, "n").and_then(|n| self.seen.get_mut(n as usize)) {
            Some(seen) if *seen => self.duplicates += 1,
            Some(seen) => {
                *seen = true;
                self.sum = self.sum.wrapping_add(fnv1a(payload));
            }
            None if payload == crate::kafka::CLOSER => self.closers += 1,
            None => self.strays += 1,
        }
    }

    /// Distinct records seen.
    pub fn distinct(&self) -> usize {
        self.records - self.duplicates - self.strays - self.closers
    }

    /// Input records never seen.
    pub fn missing(&self) -> usize {
        self.seen.len() - self.distinct()
    }

    /// Whether every record was seen with its bytes unchanged.
    pub fn complete(&self) -> bool {
        self.missing() == 0 && self.strays == 0 && self.sum == self.expected
    }

    /// One line: counts and the checksum's verdict.
    pub fn summary(&self) -> String {
        let checksum = if self.missing() > 0 {
            "checksum not comparable"
        } else if self.sum == self.expected {
            "checksum equal to the inputs'"
        } else {
            "CHECKSUM DIFFERS (output bytes ≠ input bytes)"
        };
        let closers = match self.closers {
            0 => String::new(),
            closers => format!(", {closers} window closers"),
        };
        format!(
            "{} read, {} duplicates, {} missing, {} unknown{closers}, {checksum}",
            self.records,
            self.duplicates,
            self.missing(),
            self.strays
        )
    }
}

/// Nanoseconds since the Unix epoch, to stamp messages (same clock in one machine).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Resident set size of process `pid` now, and its peak, in MiB (`VmRSS`, `VmHWM`).
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The fields of `/proc/<pid>/stat` after the command name (field 3 onwards).
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    rest.split_whitespace().map(str::to_owned).collect()
}

/// Processes whose parent is `pid`, and theirs, recursively.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return all;
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, stat_fields(p).get(1)?.parse().ok()?)))
        .collect();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(child, ppid) in &parents {
            if ppid == parent {
                all.push(child);
                frontier.push(child);
            }
        }
    }
    all
}

/// (current, peak) resident MiB of `pid` plus its descendants (the sum of each process's
/// figures: the peaks need not have been simultaneous, so the peak is an upper bound).
pub fn tree_rss_mib(pid: u32) -> (f64, f64) {
    std::iter::once(pid)
        .chain(descendants(pid))
        .map(rss_mib)
        .fold((0.0, 0.0), |(rss, peak), (r, p)| (rss + r, peak + p))
}

/// CPU seconds (user + system) process `pid` used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let fields = stat_fields(pid);
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), in clock ticks.
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

pub use riff_testkit::free_port;
