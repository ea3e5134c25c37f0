//! Windows beyond riff's: event time with watermarks and lateness, sliding and session windows,
//! per key, on tansu with the `window-contents` function, which answers each call with the
//! payloads it got. A window's contents are what a user's function sees.

use std::time::Duration;

use crate::kafka_support::*;
use crate::support::{eventually, Manifests, ProcessorYaml, Runtime};

/// Event times of the tests: seconds after this instant (a whole minute, so that every window
/// length used divides it).
const EPOCH_MS: i64 = 1_800_000_000_000;

/// `ce_time` of `seconds` after [`EPOCH_MS`], RFC 3339.
fn ce_time(seconds: f64) -> String {
    let ms = EPOCH_MS + (seconds * 1000.0) as i64;
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// A tansu broker, streams `events` (of `partitions` partitions), `contents` and `late`, and
/// processor `windows` running `window-contents` from `events` to `contents` in `window`,
/// dead letters to `late`.
struct Windows {
    /// The broker, stopped with the scene.
    _tansu: Tansu,
    manifests: Manifests,
    kafka: Plain,
}

impl Windows {
    fn new(tansu: Tansu, partitions: u32, window: &str) -> Windows {
        let bootstrap = tansu.bootstrap();
        let mut yaml = franz_with_streams(&bootstrap, &["events"], partitions);
        let rest = franz_with_streams(&bootstrap, &["contents", "late"], 1);
        let streams = rest
            .split_once("---\n")
            .expect("streams follow the gateway");
        yaml += "---\n";
        yaml += streams.1;
        let mut processor = ProcessorYaml::sample(
            "windows",
            "window-contents",
            &["events@earliest"],
            &["contents"],
            window,
        );
        processor.delivery = "{deadLetter: {stream: late}}";
        yaml += &processor.yaml();
        let manifests = Manifests::new(&[("all.yaml", &yaml)]);
        let kafka = Plain::new(&bootstrap);
        Windows {
            _tansu: tansu,
            manifests,
            kafka,
        }
    }

    fn run(&self) -> Runtime {
        Runtime::start_with(&[self.manifests.path()], &tansu_args())
    }

    /// Produces JSON `value` to `partition` of `events`, happened `seconds` after
    /// [`EPOCH_MS`], keyed `key`.
    async fn event(&self, partition: i32, seconds: f64, key: Option<&str>, value: &str) {
        let time = ce_time(seconds);
        let headers = [("content-type", "application/json"), ("ce_time", &*time)];
        match key {
            Some(key) => {
                (self.kafka)
                    .produce("default_events", Some(key), value, &headers)
                    .await
            }
            None => {
                (self.kafka)
                    .produce_at("default_events", partition, None, value, &headers)
                    .await
            }
        }
    }

    /// Waits until group `windows` committed `offset` on partition 0 of `events`.
    fn wait_committed(&self, offset: i64) {
        let committed = || self.kafka.committed("default_events", "windows");
        let reached = || (committed().get(&0) == Some(&offset)).then_some(());
        eventually(
            format!("offset {offset} committed"),
            Duration::from_secs(10),
            reached,
        );
    }

    /// The calls' contents read from `contents` once there are `count`, in order.
    async fn calls(&self, count: usize) -> Vec<Vec<String>> {
        let records = (self.kafka)
            .read("default_contents", count, Duration::from_secs(40))
            .await;
        let calls: Vec<Vec<String>> = (records.iter())
            .map(|record| serde_json::from_str(&record.value).expect("an array of payloads"))
            .collect();
        assert_eq!(calls.len(), count, "calls: {calls:?}");
        calls
    }
}

fn call(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn event_time_tumbling_windows_take_out_of_order_records_and_dead_letter_late_ones() {
    let scene = Windows::new(
        Tansu::memory(),
        1,
        "{time: event, duration: 10s, allowedLateness: 2s}",
    );
    let _runtime = scene.run();
    // Event seconds: 1, 5, 3 and 11 are in [0, 10) (3 out of order; 11 in [10, 20), moving
    // the watermark to 11 < 10 + 2), 9 is still on time; 13 closes [0, 10); 7 is then late.
    for (seconds, value) in [(1.0, "1"), (5.0, "5"), (3.0, "3"), (11.0, "11"), (9.0, "9")] {
        scene.event(0, seconds, None, value).await;
    }
    for (seconds, value) in [(13.0, "13"), (7.0, "7"), (25.0, "25")] {
        scene.event(0, seconds, None, value).await;
    }
    let calls = scene.calls(2).await;
    assert_eq!(
        calls,
        vec![call(&["1", "5", "3", "9"]), call(&["11", "13"])],
        "[0, 10) then [10, 20); [20, 30) stays open"
    );
    let late = (scene.kafka)
        .read("default_late", 1, Duration::from_secs(20))
        .await;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].value, "7");
    let error = &late[0].headers["ce_riff-error"];
    assert!(
        error.starts_with("late: its last window ended at"),
        "{error}"
    );
    assert_eq!(late[0].headers["ce_riff-offset"], "6");
    // Committed: up to the first record of the open window [20, 30) (offset 7).
    scene.wait_committed(7);
}

#[tokio::test(flavor = "multi_thread")]
async fn sliding_windows_give_each_record_to_every_window_covering_it() {
    let scene = Windows::new(
        Tansu::memory(),
        1,
        "{kind: sliding, size: 3s, every: 1s, time: event}",
    );
    let _runtime = scene.run();
    for (seconds, value) in [(0.5, "a"), (1.5, "b"), (2.5, "c"), (10.0, "z")] {
        scene.event(0, seconds, None, &format!("\"{value}\"")).await;
    }
    let calls = scene.calls(5).await;
    let quoted =
        |values: &[&str]| -> Vec<String> { values.iter().map(|v| format!("\"{v}\"")).collect() };
    assert_eq!(
        calls,
        vec![
            quoted(&["a"]),           // [-2, 1)
            quoted(&["a", "b"]),      // [-1, 2)
            quoted(&["a", "b", "c"]), // [0, 3)
            quoted(&["b", "c"]),      // [1, 4)
            quoted(&["c"]),           // [2, 5)
        ],
        "each record in size / every = 3 calls"
    );
    // "z" (offset 3) is in open windows: committed up to it, not past it.
    scene.wait_committed(3);
}

#[tokio::test(flavor = "multi_thread")]
async fn sliding_windows_lose_nothing_when_riff_is_killed_mid_stream() {
    let scene = Windows::new(
        Tansu::memory(),
        1,
        "{kind: sliding, size: 1s, every: 500ms, time: event}",
    );
    let mut runtime = scene.run();
    // 60 records 100 ms apart: windows of 10 records, every record in 2 of them.
    for n in 0..30 {
        scene.event(0, n as f64 / 10.0, None, &n.to_string()).await;
    }
    scene.calls(4).await;
    runtime.kill();
    for n in 30..60 {
        scene.event(0, n as f64 / 10.0, None, &n.to_string()).await;
    }
    scene.event(0, 100.0, None, "1000").await;
    let _runtime = scene.run();
    // Windows [-0.5, 0.5), [0, 1), ..., [5.5, 6.5): 13.
    let expected: Vec<Vec<String>> = (-1..12)
        .map(|k| {
            let (start, end) = (k * 5, k * 5 + 10);
            (start.max(0)..end.min(60)).map(|n| n.to_string()).collect()
        })
        .collect();
    let complete = |records: &[KafkaRecord]| {
        let calls: Vec<Vec<String>> = (records.iter())
            .map(|r| serde_json::from_str(&r.value).unwrap())
            .collect();
        expected.iter().all(|window| calls.contains(window))
    };
    let records = (scene.kafka)
        .read_until("default_contents", Duration::from_secs(60), complete)
        .await;
    let calls: Vec<Vec<String>> = (records.iter())
        .map(|r| serde_json::from_str(&r.value).unwrap())
        .collect();
    for window in &expected {
        assert!(calls.contains(window), "window {window:?} in {calls:?}");
    }
    // Repeats after the kill: windows called again, whole, or from their first uncommitted
    // record on (a suffix, when the front of a completed window was committed).
    for call in &calls {
        assert!(
            expected.iter().any(|window| window.ends_with(call)),
            "{call:?} is not (the end of) a window"
        );
    }
    assert!(
        calls.len() <= 2 * expected.len(),
        "{} calls for {} windows",
        calls.len(),
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn session_windows_per_key_close_after_their_gap() {
    let scene = Windows::new(
        Tansu::memory(),
        1,
        "{kind: session, gap: 2s, time: event, keyBy: key}",
    );
    let _runtime = scene.run();
    let events = [
        (0.0, "a", "1"),
        (0.5, "b", "101"),
        (1.0, "a", "2"),
        (2.5, "b", "102"),
        (2.8, "a", "3"),
        (6.0, "b", "103"), // b: a new session (gap 3.5 s); a's closes at 4.8
        (20.0, "a", "4"),
    ];
    for (seconds, key, value) in events {
        scene.event(0, seconds, Some(key), value).await;
    }
    let calls = scene.calls(3).await;
    assert_eq!(
        calls,
        vec![
            call(&["101", "102"]),
            call(&["1", "2", "3"]),
            call(&["103"])
        ],
        "sessions by end: b [0.5, 4.5), a [0, 4.8), b [6, 8)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_partition_holds_the_watermark_back_only_for_its_idle_timeout() {
    let scene = Windows::new(
        Tansu::memory(),
        2,
        "{time: event, duration: 10s, idleTimeout: 2s}",
    );
    let _runtime = scene.run();
    // No ce_time: the Kafka timestamps are the event times.
    let at = |seconds: i64| Some(EPOCH_MS + seconds * 1000);
    let json = [("content-type", "application/json")];
    (scene.kafka)
        .produce_at("default_events", 1, at(1), "1", &json)
        .await;
    for seconds in [2, 3, 15] {
        (scene.kafka)
            .produce_at(
                "default_events",
                0,
                at(seconds),
                &seconds.to_string(),
                &json,
            )
            .await;
    }
    // Partition 1 stays at 1 s; after 2 s of silence it no longer holds [0, 10) open.
    let calls = scene.calls(1).await;
    let mut contents = calls[0].clone();
    contents.sort();
    assert_eq!(contents, call(&["1", "2", "3"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_window_rebuilds_the_same_event_time_windows() {
    let scene = Windows::new(Tansu::memory(), 1, "{time: event, duration: 10s}");
    let mut runtime = scene.run();
    for n in 1..=3 {
        scene.event(0, n as f64, None, &n.to_string()).await;
    }
    scene.event(0, 10.5, None, "10").await;
    assert_eq!(scene.calls(1).await, vec![call(&["1", "2", "3"])]);
    scene.event(0, 11.0, None, "11").await;
    assert_eq!(runtime.terminate(Duration::from_secs(20)), 0);
    // [10, 20) was open: its records are read again and it is rebuilt whole.
    scene.event(0, 12.0, None, "12").await;
    scene.event(0, 30.0, None, "30").await;
    let _runtime = scene.run();
    let calls = scene.calls(2).await;
    assert_eq!(calls[1], call(&["10", "11", "12"]));
    scene.wait_committed(6); // up to "30", in the open [30, 40)
}

#[tokio::test(flavor = "multi_thread")]
async fn records_in_flight_are_those_not_yet_acknowledged() {
    let scene = Windows::new(Tansu::memory(), 2, "{time: event, duration: 10s}");
    let runtime = scene.run();
    let in_flight = || {
        let samples = crate::metrics::openmetrics(&runtime.metrics());
        crate::metrics::total(
            &samples,
            "riff_in_flight_records",
            &[("processor", "windows")],
        )
    };
    let json = [("content-type", "application/json")];
    let at = |seconds: i64| Some(EPOCH_MS + seconds * 1000);
    let produce = |partition: i32, seconds: i64| {
        let value = seconds.to_string();
        let kafka = &scene.kafka;
        async move {
            (kafka)
                .produce_at("default_events", partition, at(seconds), &value, &json)
                .await
        }
    };
    // 25 is read first and stays in the open [20, 30): every record read after it waits
    // behind it in reading order, acknowledged or not.
    produce(0, 25).await;
    eventually("25 read", Duration::from_secs(20), || {
        (in_flight() == 1.0).then_some(())
    });
    for seconds in [1, 2, 15] {
        produce(1, seconds).await;
    }
    // Partition 1 at 15 closes [0, 10): 1 and 2 are acknowledged; 25 and 15 are not.
    assert_eq!(scene.calls(1).await, vec![call(&["1", "2"])]);
    eventually("25 and 15 in flight", Duration::from_secs(10), || {
        (in_flight() == 2.0).then_some(())
    });
}
