//! `spec.delivery` on a real broker (tansu) with a real function process: a poison record is
//! isolated and dead-lettered while the rest flows, a hung call times out, and without a
//! dead-letter stream the processor stops at the poison record until the function is fixed.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::kafka_support::*;
use crate::support::{eventually, sibling_binary, Manifests, ProcessorYaml, Runtime};

/// A KafkaGateway on `tansu`, streams `numbers`, `squares` and `failed`, and a processor
/// `squarer` running `program` (env `env`) from the earliest number, with `window` and
/// `delivery`.
fn manifests(tansu: &Tansu, program: &Path, env: &str, window: &str, delivery: &str) -> Manifests {
    let yaml = franz_with_streams(&tansu.bootstrap(), &["numbers", "squares", "failed"], 1);
    let processor = ProcessorYaml {
        command: vec![program.display().to_string()],
        env,
        delivery,
        ..ProcessorYaml::sample("squarer", "", &["numbers@earliest"], &["squares"], window)
    };
    Manifests::new(&[("all.yaml", &(yaml + &processor.yaml()))])
}

fn run(manifests: &Manifests) -> Runtime {
    Runtime::start_with(&[manifests.path()], &tansu_args())
}

/// The numbers whose squares were read.
fn roots(records: &[KafkaRecord]) -> Vec<u64> {
    records
        .iter()
        .map(|r| (r.value.parse::<f64>().unwrap().sqrt()) as u64)
        .collect()
}

/// Reads `default_squares` until it holds the square of every number of `expected`; asserts
/// that nothing else and no duplicate came.
async fn read_squares_of(kafka: &Plain, expected: &BTreeSet<u64>, timeout: Duration) {
    let done =
        |records: &[KafkaRecord]| roots(records).into_iter().collect::<BTreeSet<_>>() == *expected;
    let records = kafka.read_until("default_squares", timeout, done).await;
    let mut read = roots(&records);
    read.sort_unstable();
    let expected: Vec<u64> = expected.iter().copied().collect();
    assert_eq!(
        read,
        expected,
        "exactly the squares of the expected numbers, once each; repeated: {}",
        repeats(&records)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_in_a_window_of_1000_is_dead_lettered_alone_and_reading_goes_on() {
    let tansu = Tansu::memory();
    let manifests = manifests(
        &tansu,
        &sibling_binary("flaky-square"),
        "[{name: FAIL_ON, value: '500'}]",
        "{count: 1000, duration: 5s}",
        "{maxAttempts: 3, backoff: {initial: 10ms, max: 100ms}, deadLetter: {stream: failed}}",
    );
    let runtime = run(&manifests);
    let kafka = Plain::new(&tansu.bootstrap());
    kafka.produce_numbers("default_numbers", 1..=1000).await;

    let expected: BTreeSet<u64> = (1..=1000).filter(|n| *n != 500).collect();
    read_squares_of(&kafka, &expected, Duration::from_secs(60)).await;
    let failed = kafka
        .read("default_failed", 1, Duration::from_secs(20))
        .await;
    assert_eq!(failed.len(), 1, "only the poison record is dead-lettered");
    let dead = &failed[0];
    assert_eq!(dead.value, "500", "the original payload");
    let header = |name: &str| dead.headers.get(name).map(String::as_str);
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("ce_riff-attempts"), Some("3"));
    assert_eq!(header("ce_riff-topic"), Some("default_numbers"));
    assert_eq!(header("ce_riff-partition"), Some("0"));
    assert_eq!(header("ce_riff-offset"), Some("499"));
    let error = header("ce_riff-error").unwrap_or_default();
    assert!(error.contains("fails on 500"), "the last failure: {error}");
    let logged = runtime.wait_for_log("moved to the dead-letter topic", Duration::from_secs(1));
    assert!(logged.contains("offset=499"), "{logged}");

    // Reading goes on past it, and the window is committed.
    kafka.produce_numbers("default_numbers", 1001..=1010).await;
    let expected: BTreeSet<u64> = expected.into_iter().chain(1001..=1010).collect();
    read_squares_of(&kafka, &expected, Duration::from_secs(30)).await;
    eventually(
        "the group to commit every record",
        Duration::from_secs(20),
        || (kafka.committed("default_numbers", "squarer").get(&0) == Some(&1010)).then_some(()),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_call_is_cancelled_after_the_timeout_and_its_record_dead_lettered() {
    let tansu = Tansu::memory();
    let manifests = manifests(
        &tansu,
        &sibling_binary("flaky-square"),
        "[{name: HANG_ON, value: '7'}]",
        "{count: 5}",
        "{maxAttempts: 2, timeout: 300ms, backoff: {initial: 10ms}, deadLetter: {stream: failed}}",
    );
    let runtime = run(&manifests);
    let kafka = Plain::new(&tansu.bootstrap());
    kafka.produce_numbers("default_numbers", 1..=10).await;

    let expected: BTreeSet<u64> = (1..=10).filter(|n| *n != 7).collect();
    read_squares_of(&kafka, &expected, Duration::from_secs(60)).await;
    let failed = kafka
        .read("default_failed", 1, Duration::from_secs(20))
        .await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].value, "7");
    let error = &failed[0].headers["ce_riff-error"];
    assert!(error.contains("timed out"), "{error}");
    runtime.wait_for_log("timed out", Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_dead_letter_stream_reading_stops_at_the_poison_record_until_the_function_is_fixed(
) {
    let tansu = Tansu::memory();
    // The function is a copy of the fixture, so that the test can replace it.
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("function");
    std::fs::copy(sibling_binary("flaky-square"), &program).unwrap();
    let manifests = manifests(
        &tansu,
        &program,
        "[{name: FAIL_ON, value: '5'}]",
        "{count: 10, duration: 1s}",
        "{maxAttempts: 2, backoff: {initial: 10ms, max: 500ms}}",
    );
    let runtime = run(&manifests);
    let kafka = Plain::new(&tansu.bootstrap());
    kafka.produce_numbers("default_numbers", 1..=20).await;

    let stopped = runtime.wait_for_log("delivery failed", Duration::from_secs(30));
    assert!(stopped.contains("ERROR"), "{stopped}");
    assert!(
        stopped.contains("topic=default_numbers") && stopped.contains("offset=4"),
        "the line names the record's position: {stopped}"
    );
    assert!(stopped.contains("fails on 5"), "and the error: {stopped}");
    // The records before it in its window were processed; nothing of the window is committed,
    // and nothing after it is processed.
    read_squares_of(&kafka, &(1..=4).collect(), Duration::from_secs(20)).await;
    assert_eq!(
        kafka.committed("default_numbers", "squarer").get(&0),
        Some(&0)
    );

    // Fix the function: a new binary, picked up when its process restarts.
    let pid = runtime.function_pid();
    let replacement = dir.path().join("function.new");
    std::fs::copy(sibling_binary("square"), &replacement).unwrap();
    std::fs::rename(&replacement, &program).unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };

    runtime.wait_for_log("delivery resumed", Duration::from_secs(30));
    let squares = kafka
        .read_until("default_squares", Duration::from_secs(30), |records| {
            roots(records).into_iter().collect::<BTreeSet<_>>() == (1..=20).collect()
        })
        .await;
    assert_eq!(
        roots(&squares).into_iter().collect::<BTreeSet<_>>(),
        (1..=20).collect(),
        "every number was processed once the function was fixed"
    );
    eventually(
        "the group to commit every record",
        Duration::from_secs(20),
        || (kafka.committed("default_numbers", "squarer").get(&0) == Some(&20)).then_some(()),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payload_that_is_not_its_content_type_goes_to_the_dead_letter_stream_untried() {
    let tansu = Tansu::memory();
    let manifests = manifests(
        &tansu,
        &sibling_binary("square"),
        "[]",
        "{count: 1}",
        "{deadLetter: {stream: failed}}",
    );
    let runtime = run(&manifests);
    let kafka = Plain::new(&tansu.bootstrap());
    let json = [("content-type", "application/json")];
    kafka
        .produce("default_numbers", None, "{not json", &json)
        .await;
    kafka.produce_numbers("default_numbers", [3]).await;

    read_squares_of(&kafka, &BTreeSet::from([3]), Duration::from_secs(30)).await;
    let failed = kafka
        .read("default_failed", 1, Duration::from_secs(20))
        .await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].value, "{not json");
    let error = &failed[0].headers["ce_riff-error"];
    assert!(
        error.contains("invalid application/json payload"),
        "{error}"
    );
    assert_eq!(
        failed[0].headers.get("ce_riff-attempts"),
        None,
        "never tried"
    );
    assert!(
        !runtime.log().join("\n").contains("actor=\"invoker\""),
        "no call failed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_attempts_are_counted_across_a_kill_9() {
    let tansu = Tansu::memory();
    // Slow retries, so that riff is killed between the second and the third attempt.
    let manifests = manifests(
        &tansu,
        &sibling_binary("flaky-square"),
        "[{name: FAIL_ON, value: '5'}]",
        "{count: 10}",
        "{maxAttempts: 3, backoff: {initial: 30s, max: 30s, jitter: false}, \
         deadLetter: {stream: failed}}",
    );
    let kafka = Plain::new(&tansu.bootstrap());
    // Kafka keeps `riff-attempts.squarer`'s position of partition 0 as the next offset to read:
    // the window's first offset (0) × 256 + its failed attempts, + 1.
    let stored = |attempts: i64| {
        let what = format!("{attempts} failed attempts to be stored");
        eventually(&what, Duration::from_secs(20), || {
            let committed = kafka.committed("default_numbers", "riff-attempts.squarer");
            (committed.get(&0) == Some(&(attempts + 1))).then_some(())
        })
    };
    let mut first = run(&manifests);
    kafka.produce_numbers("default_numbers", 1..=10).await;
    first.wait_for_log("attempt=1", Duration::from_secs(30));
    stored(1);
    // The first failure waits 30 s: restart instead, for the second attempt.
    first.kill();
    let mut second = run(&manifests);
    second.wait_for_log("its attempts go on from there", Duration::from_secs(30));
    second.wait_for_log("attempt=1", Duration::from_secs(30));
    stored(2);
    second.kill();

    // Two attempts failed before: one more, then the window is narrowed down at once.
    let third = run(&manifests);
    let resumed = third.wait_for_log("its attempts go on from there", Duration::from_secs(30));
    assert!(
        resumed.contains("attempts=2") && resumed.contains("offset=0"),
        "{resumed}"
    );
    third.wait_for_log("calling them in halves", Duration::from_secs(30));
    let log = third.log();
    let narrowed = log
        .iter()
        .position(|line| line.contains("calling them in halves"));
    let retried = log
        .iter()
        .position(|line| line.contains("actor=\"invoker\""));
    assert!(
        retried.is_none_or(|retried| retried > narrowed.unwrap()),
        "no retry after the third failure, which exhausted the attempts:\n{}",
        log.join("\n")
    );
    // (The halves then go on at this test's slow pace; the other tests follow them through.)
}
