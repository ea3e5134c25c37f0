//! Failures never lose data and never stop `riff`: crashed functions, failing invocations.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_function_mid_window_loses_nothing() {
    let yaml = square_processor("square", "{duration: 2s}", "[]");
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    let pid = runtime.function_pid();

    gateway.publish_numbers("numbers", 1..=50).await;
    // The window is open (2 s) and its call in progress: kill the function now.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    gateway.publish_numbers("numbers", 51..=100).await;

    runtime.wait_for_log("the function process exited", Duration::from_secs(10));
    let squares = gateway.read("squares", 1000, Duration::from_secs(15)).await;
    let distinct: BTreeSet<u64> = numbers(&squares).into_iter().map(|n| n as u64).collect();
    let expected: BTreeSet<u64> = (1..=100u64).map(|n| n * n).collect();
    assert_eq!(
        distinct, expected,
        "every input has its output after the crash"
    );
    assert!(squares.len() >= 100);
    // The window was retried after a failure: the log says which, with attempt and backoff.
    let retried = runtime.wait_for_log("actor=\"invoker\"", Duration::from_secs(1));
    assert!(
        retried.contains("attempt=") && retried.contains("next_backoff="),
        "{retried}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_invocation_is_retried_and_the_window_redelivered() {
    let env = "[{name: FAIL_INVOCATIONS, value: \"2\"}]";
    let yaml = square_processor("flaky-square", "{count: 3}", env);
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("numbers", [2, 3, 4]).await;

    let squares = gateway.read("squares", 3, Duration::from_secs(15)).await;
    assert_eq!(numbers(&squares), [4.0, 9.0, 16.0]);
    let log = runtime.log().join("\n");
    assert!(log.contains("attempt=1"), "first failure logged:\n{log}");
    assert!(log.contains("attempt=2"), "second failure logged:\n{log}");
    // Committed once the outputs were acknowledged, in the background.
    gateway.wait_committed("numbers", "squarer", 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_completes_the_open_window_before_exiting() {
    let yaml = square_processor("time-averager", "{duration: 1h}", "[]");
    let manifests = Manifests::new(&[("all.yaml", &yaml)]);
    let mut runtime = Runtime::start(&[manifests.path()]);
    let gateway = runtime.client().await;
    gateway.publish_numbers("numbers", [1, 2, 3]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reader = {
        let gateway = gateway.clone();
        tokio::spawn(async move { gateway.read("squares", 1, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(runtime.terminate(Duration::from_secs(15)), 0);
    // The hour-long window was closed by the shutdown and its average published.
    assert_eq!(numbers(&reader.await.unwrap()), [2.0]);
}
