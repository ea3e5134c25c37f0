//! Which windows each record belongs to, and when each closes: tumbling (aligned to the epoch or
//! opened by their first record), sliding and session windows, per key or over every record, on
//! the processing or the event clock. Pure bookkeeping in epoch milliseconds: the window actor
//! feeds records and the time, and calls the windows that close.
//!
//! On the event clock, each input partition's watermark is the latest event time it delivered;
//! the processor's is the lowest of those of the partitions heard from within `idleTimeout` (of
//! every partition heard from, when all are silent), and never goes back. A window closes once
//! the watermark passed its end by `allowedLateness`; a record whose windows all closed is late.

use std::collections::HashMap;

use bytes::Bytes;

use crate::message::Record;
use crate::resources::{Clock, ResolvedWindow, Shape};

/// A record's place in the window actor's ledger (consecutive from 0, in reading order).
pub type Seq = u64;

/// When `record` happened, in milliseconds since the epoch: its CloudEvents `time` (`ce_time`),
/// else its Kafka timestamp. An error when `ce_time` is not an RFC 3339 time.
pub fn event_time(record: &Record) -> Result<i64, String> {
    match record.message.headers.get("ce_time") {
        None => Ok(record.timestamp_ms),
        Some(text) => (text.parse::<jiff::Timestamp>())
            .map(|time| time.as_millisecond())
            .map_err(|error| format!("ce_time {text:?}: {error}")),
    }
}

/// One record as the assigner sees it.
pub struct Arrival<'a> {
    pub seq: Seq,
    /// The input (argIndex) and partition it was read from.
    pub source: (usize, u32),
    /// When it happened (used on the event clock).
    pub event_ms: i64,
    /// When it was read.
    pub now_ms: i64,
    pub key: Option<&'a Bytes>,
    /// Its payload bytes.
    pub units: u64,
}

/// Where a record went.
#[derive(Debug, PartialEq, Eq)]
pub enum Placed {
    /// Into this many windows.
    In(u32),
    /// Every window it belongs to had closed: the latest of them ended at `end_ms`, and the
    /// watermark was `watermark_ms`.
    Late { end_ms: i64, watermark_ms: i64 },
}

/// A window that closed: one call with its records, in reading order.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub seqs: Vec<Seq>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// When its first record was read.
    pub opened_ms: i64,
    /// Its records' payload bytes.
    pub units: u64,
}

/// A window still taking records.
struct Open {
    start: i64,
    /// Its end; a session's moves with its latest record.
    end: i64,
    seqs: Vec<Seq>,
    opened: i64,
    units: u64,
}

impl Open {
    fn new(start: i64, end: i64, now: i64) -> Self {
        Open {
            start,
            end,
            seqs: Vec::new(),
            opened: now,
            units: 0,
        }
    }

    fn closed(self) -> Closed {
        Closed {
            seqs: self.seqs,
            start_ms: self.start,
            end_ms: self.end,
            opened_ms: self.opened,
            units: self.units,
        }
    }
}

/// What one input partition delivered last, on the event clock.
struct Partition {
    latest: i64,
    heard_ms: i64,
}

/// The open windows of a processor and the watermark that closes them.
pub struct Assigner {
    shape: Shape,
    count: Option<u64>,
    clock: Clock,
    per_key: bool,
    /// Open windows per key (one entry, `None`, when windows are over every record).
    open: HashMap<Option<Bytes>, Vec<Open>>,
    /// Windows that reached their count, to be called before anything else closes.
    full: Vec<Closed>,
    partitions: HashMap<(usize, u32), Partition>,
    watermark: i64,
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

impl Assigner {
    pub fn new(window: &ResolvedWindow) -> Self {
        Assigner {
            shape: window.shape,
            count: window.count,
            clock: window.time,
            per_key: window.per_key,
            open: HashMap::new(),
            full: Vec::new(),
            partitions: HashMap::new(),
            watermark: i64::MIN,
        }
    }

    /// How long past its end a window takes late records.
    fn lateness(&self) -> i64 {
        match self.clock {
            Clock::Processing => 0,
            Clock::Event {
                allowed_lateness, ..
            } => i64::try_from(allowed_lateness.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Whether a window ending at `end` closed already (on the event clock; on the processing
    /// clock a record always belongs to windows still open).
    fn is_closed(&self, end: i64) -> bool {
        matches!(self.clock, Clock::Event { .. })
            && end.saturating_add(self.lateness()) <= self.watermark
    }

    /// Puts the record in the windows it belongs to.
    pub fn place(&mut self, arrival: Arrival) -> Placed {
        let time = match self.clock {
            Clock::Processing => arrival.now_ms,
            Clock::Event { .. } => {
                let partition = (self.partitions)
                    .entry(arrival.source)
                    .or_insert(Partition {
                        latest: arrival.event_ms,
                        heard_ms: arrival.now_ms,
                    });
                partition.latest = partition.latest.max(arrival.event_ms);
                partition.heard_ms = arrival.now_ms;
                self.advance(arrival.now_ms);
                arrival.event_ms
            }
        };
        let key = arrival.key.filter(|_| self.per_key).cloned();
        let (seq, now, units) = (arrival.seq, arrival.now_ms, arrival.units);
        let spans = self.spans(time, &key, now);
        let latest_end = spans.iter().map(|(_, end)| *end).max().unwrap_or(time);
        let open_spans: Vec<_> = (spans.into_iter())
            .filter(|(_, end)| !self.is_closed(*end))
            .collect();
        if open_spans.is_empty() {
            return Placed::Late {
                end_ms: latest_end,
                watermark_ms: self.watermark,
            };
        }
        let placed = open_spans.len() as u32;
        let shape = self.shape;
        let windows = self.open.entry(key).or_default();
        for (start, end) in open_spans {
            let mut index = match windows.iter().position(|open| open.start == start) {
                Some(index) => index,
                None => {
                    windows.push(Open::new(start, end, now));
                    windows.len() - 1
                }
            };
            let window = &mut windows[index];
            window.seqs.push(seq);
            window.units += units;
            if let Shape::Session { gap } = shape {
                window.start = window.start.min(time);
                window.end = window.end.max(time.saturating_add(millis(gap)));
                index = Self::merge_sessions(windows, index);
            }
            if (self.count).is_some_and(|count| windows[index].seqs.len() as u64 >= count) {
                self.full.push(windows.swap_remove(index).closed());
            }
        }
        Placed::In(placed)
    }

    /// The (start, end) of each window a record of `time` belongs to.
    fn spans(&self, time: i64, key: &Option<Bytes>, now: i64) -> Vec<(i64, i64)> {
        match self.shape {
            Shape::Tumbling {
                duration: Some(duration),
                aligned: true,
            } => {
                let length = millis(duration);
                let start = time.div_euclid(length) * length;
                vec![(start, start.saturating_add(length))]
            }
            Shape::Tumbling { duration, .. } => {
                // Opened by its key's first record (processing clock only).
                let opened = self.open.get(key).and_then(|windows| windows.last());
                match opened {
                    Some(open) => vec![(open.start, open.end)],
                    None => vec![(now, duration.map_or(i64::MAX, |d| now + millis(d)))],
                }
            }
            Shape::Sliding { size, every } => {
                let (size, every) = (millis(size), millis(every));
                let mut start = time.div_euclid(every) * every;
                let mut spans = Vec::new();
                while start.saturating_add(size) > time {
                    spans.push((start, start.saturating_add(size)));
                    start -= every;
                }
                spans.reverse();
                spans
            }
            Shape::Session { gap } => {
                // The record's own session; overlapping ones merge with it.
                let end = time.saturating_add(millis(gap));
                let overlapping = self.open.get(key).into_iter().flatten().find(|open| {
                    open.start <= end && time <= open.end && !self.is_closed(open.end)
                });
                match overlapping {
                    Some(open) => vec![(open.start, open.end.max(end))],
                    None => vec![(time, end)],
                }
            }
        }
    }

    /// Session `index` of `windows` grew: it swallows every other session it now overlaps.
    /// Returns where it is now.
    fn merge_sessions(windows: &mut Vec<Open>, index: usize) -> usize {
        let mut session = windows.swap_remove(index);
        loop {
            let overlapping = (windows.iter())
                .position(|open| open.start <= session.end && session.start <= open.end);
            let Some(other) = overlapping.map(|index| windows.swap_remove(index)) else {
                break;
            };
            session.start = session.start.min(other.start);
            session.end = session.end.max(other.end);
            session.opened = session.opened.min(other.opened);
            session.units += other.units;
            session.seqs.extend(other.seqs);
            session.seqs.sort_unstable();
        }
        windows.push(session);
        windows.len() - 1
    }

    /// The windows that closed by `now`, in the order they are called: those full by count
    /// first, then by end, start and first record.
    pub fn due(&mut self, now: i64) -> Vec<Closed> {
        self.advance(now);
        let threshold = match self.clock {
            Clock::Processing => now,
            Clock::Event { .. } => self.watermark.saturating_sub(self.lateness()),
        };
        let mut closed = std::mem::take(&mut self.full);
        closed.extend(self.take(|open| open.end <= threshold));
        closed
    }

    /// Input `input`'s `partitions` were assigned at `now`: until they deliver a record or fall
    /// silent for `idleTimeout`, they hold the watermark back (a partition read later than the
    /// others does not find its windows closed).
    pub fn assigned(&mut self, input: usize, partitions: &[u32], now: i64) {
        if let Clock::Event { .. } = self.clock {
            for partition in partitions {
                (self.partitions.entry((input, *partition))).or_insert(Partition {
                    latest: i64::MIN,
                    heard_ms: now,
                });
            }
        }
    }

    /// Input `input`'s `partitions` were revoked: they no longer hold the watermark back.
    pub fn revoked(&mut self, input: usize, partitions: &[u32]) {
        for partition in partitions {
            self.partitions.remove(&(input, *partition));
        }
    }

    /// Moves the watermark to the lowest latest event time of the partitions heard from within
    /// `idleTimeout` of `now`, or when all are silent, to the highest (it never goes back).
    fn advance(&mut self, now: i64) {
        let Clock::Event { idle_timeout, .. } = self.clock else {
            return;
        };
        let idle = millis(idle_timeout);
        let heard = (self.partitions.values())
            .filter(|partition| now - partition.heard_ms < idle)
            .map(|partition| partition.latest)
            .min();
        let all = self.partitions.values().map(|p| p.latest).max();
        if let Some(watermark) = heard.or(all) {
            self.watermark = self.watermark.max(watermark);
        }
    }

    /// Closes every window whose first record came before `seq`: memory is short, and those
    /// records hold everything read after them.
    pub fn close_before(&mut self, seq: Seq) -> Vec<Closed> {
        self.take(|open| open.seqs.first().is_some_and(|first| *first < seq))
    }

    /// Closes every window (a drain on the processing clock; on the event clock the windows are
    /// left to be rebuilt from the uncommitted records).
    pub fn drain(&mut self) -> Vec<Closed> {
        match self.clock {
            Clock::Processing => {
                let mut closed = std::mem::take(&mut self.full);
                closed.extend(self.take(|_| true));
                closed
            }
            Clock::Event { .. } => Vec::new(),
        }
    }

    /// Removes the open windows matching `closes`, in calling order.
    fn take(&mut self, closes: impl Fn(&Open) -> bool) -> Vec<Closed> {
        let mut closed = Vec::new();
        for windows in self.open.values_mut() {
            let mut index = 0;
            while index < windows.len() {
                if closes(&windows[index]) {
                    closed.push(windows.swap_remove(index).closed());
                } else {
                    index += 1;
                }
            }
        }
        self.open.retain(|_, windows| !windows.is_empty());
        closed.sort_by_key(|window| (window.end_ms, window.start_ms, window.seqs.first().copied()));
        closed
    }

    /// When something may close without a record arriving, after `now`: the earliest window
    /// end on the processing clock; on the event clock, when the next partition falls silent
    /// (which may move the watermark).
    pub fn next_deadline(&self, now: i64) -> Option<i64> {
        if self.open.is_empty() {
            return None;
        }
        match self.clock {
            Clock::Processing => self.open.values().flatten().map(|open| open.end).min(),
            Clock::Event { idle_timeout, .. } => (self.partitions.values())
                .map(|partition| partition.heard_ms + millis(idle_timeout))
                .filter(|silent| *silent > now && self.partitions.len() > 1)
                .min(),
        }
    }

    /// The current watermark (event clock).
    #[cfg(test)]
    pub fn watermark(&self) -> i64 {
        self.watermark
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Window;

    fn assigner(yaml: &str) -> Assigner {
        let window: Window = serde_norway::from_str(yaml).unwrap();
        Assigner::new(&window.resolve().unwrap())
    }

    /// Places records `(seq, partition, event_ms, key)` read at `now`.
    fn place(assigner: &mut Assigner, now: i64, records: &[(Seq, u32, i64, &str)]) -> Vec<Placed> {
        (records.iter())
            .map(|(seq, partition, event_ms, key)| {
                let key = Bytes::from(key.to_string());
                assigner.place(Arrival {
                    seq: *seq,
                    source: (0, *partition),
                    event_ms: *event_ms,
                    now_ms: now,
                    key: Some(&key),
                    units: 1,
                })
            })
            .collect()
    }

    fn contents(closed: Vec<Closed>) -> Vec<(i64, Vec<Seq>)> {
        closed.into_iter().map(|w| (w.start_ms, w.seqs)).collect()
    }

    #[test]
    fn event_time_tumbling_closes_as_the_watermark_passes_and_refuses_late_records() {
        let mut a = assigner("{time: event, duration: 1s, allowedLateness: 500ms}");
        place(
            &mut a,
            0,
            &[(0, 0, 100, "a"), (1, 0, 1200, "a"), (2, 0, 900, "a")],
        );
        assert_eq!(contents(a.due(0)), vec![]); // watermark 1200: [0, 1000) waits 500 ms more
                                                // The watermark moves with each record: 999 after 1600 is late within one batch.
        assert_eq!(
            place(
                &mut a,
                0,
                &[(3, 0, 600, "a"), (4, 0, 1600, "a"), (5, 0, 999, "a")]
            ),
            vec![
                Placed::In(1),
                Placed::In(1),
                Placed::Late {
                    end_ms: 1000,
                    watermark_ms: 1600
                }
            ]
        );
        assert_eq!(contents(a.due(0)), vec![(0, vec![0, 2, 3])]);
        place(&mut a, 0, &[(6, 0, 3000, "a")]);
        assert_eq!(contents(a.due(0)), vec![(1000, vec![1, 4])]);
    }

    #[test]
    fn sliding_windows_hold_a_record_in_each_window_covering_it() {
        let mut a = assigner("{kind: sliding, size: 3s, every: 1s, time: event}");
        assert_eq!(place(&mut a, 0, &[(0, 0, 2500, "k")]), vec![Placed::In(3)]);
        place(&mut a, 0, &[(1, 0, 3100, "k"), (2, 0, 6000, "k")]);
        assert_eq!(
            contents(a.due(0)),
            vec![
                (0, vec![0]),
                (1000, vec![0, 1]),
                (2000, vec![0, 1]),
                (3000, vec![1])
            ]
        );
    }

    #[test]
    fn sessions_per_key_close_after_their_gap_and_merge_when_bridged() {
        let mut a = assigner("{kind: session, gap: 1s, time: event, keyBy: key}");
        place(
            &mut a,
            0,
            &[
                (0, 0, 0, "a"),
                (1, 0, 100, "b"),
                (2, 0, 2000, "a"),
                (3, 0, 1000, "a"),
            ],
        );
        // "a": 0 and 2000 were two sessions until 1000 bridged them.
        assert_eq!(contents(a.due(0)), vec![(100, vec![1])]);
        place(&mut a, 0, &[(4, 0, 5000, "b")]);
        assert_eq!(contents(a.due(0)), vec![(0, vec![0, 2, 3])]);
    }

    #[test]
    fn a_silent_partition_holds_the_watermark_back_until_its_idle_timeout() {
        let mut a = assigner("{time: event, duration: 1s, idleTimeout: 2s}");
        place(&mut a, 0, &[(0, 0, 100, ""), (1, 1, 200, "")]);
        place(&mut a, 500, &[(2, 0, 5000, "")]);
        assert_eq!(contents(a.due(500)), vec![]);
        assert_eq!(a.next_deadline(500), Some(2000));
        assert_eq!(contents(a.due(2000)), vec![(0, vec![0, 1])]);
        assert_eq!(a.watermark(), 5000);
    }

    #[test]
    fn an_assigned_partition_holds_the_watermark_back_before_its_first_record() {
        let mut a = assigner("{time: event, duration: 1s, idleTimeout: 2s}");
        a.assigned(0, &[0, 1], 0);
        place(&mut a, 0, &[(0, 0, 100, ""), (1, 0, 5000, "")]);
        assert_eq!(contents(a.due(100)), vec![]);
        // Partition 1's first record, read late, still finds its window open.
        assert_eq!(place(&mut a, 100, &[(2, 1, 200, "")]), vec![Placed::In(1)]);
        assert_eq!(contents(a.due(100)), vec![]);
        a.revoked(0, &[1]);
        assert_eq!(contents(a.due(100)), vec![(0, vec![0, 2])]);
    }

    #[test]
    fn processing_windows_close_by_the_clock_or_count_and_all_on_drain() {
        let mut a = assigner("{kind: sliding, size: 2s, every: 1s, count: 2}");
        place(&mut a, 1500, &[(0, 0, 0, "")]);
        assert_eq!(a.next_deadline(1500), Some(2000));
        assert_eq!(contents(a.due(2000)), vec![(0, vec![0])]);
        place(&mut a, 2100, &[(1, 0, 0, "")]);
        assert_eq!(contents(a.due(2100)), vec![(1000, vec![0, 1])]);
        assert_eq!(contents(a.drain()), vec![(2000, vec![1])]);
        let mut keyed = assigner("{duration: 1s, keyBy: key}");
        place(&mut keyed, 100, &[(0, 0, 0, "a")]);
        place(&mut keyed, 600, &[(1, 0, 0, "b"), (2, 0, 0, "a")]);
        assert_eq!(contents(keyed.due(1100)), vec![(100, vec![0, 2])]);
        assert_eq!(contents(keyed.close_before(2)), vec![(600, vec![1])]);
    }
}
