//! Measuring helpers: rates, latency percentiles, resident memory, free ports, payloads.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// Messages per second.
pub fn rate(messages: usize, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64()
}

/// The `p`th percentile (0..=100) of `samples`, in milliseconds.
pub fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p / 100.0).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

/// A JSON document of about `size` bytes: `{"n":<i>,"pad":"xxx…"}`.
pub fn json_payload(i: usize, size: usize) -> Bytes {
    let head = format!("{{\"n\":{i},\"pad\":\"");
    let pad = size.saturating_sub(head.len() + 2);
    Bytes::from(format!("{head}{}\"}}", "x".repeat(pad)))
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

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
