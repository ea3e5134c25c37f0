//! The sample binaries, run as processes and called over real gRPC on loopback.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use riff_protocol::riff::riff_client::RiffClient;
use riff_protocol::riff::{
    input_signal, output_signal, InputFrame, InputSignal, OutputFrame, OutputSignal, StartFrame,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status, Streaming};

/// How long any single step of a test may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running sample binary.
struct Sample {
    child: Child,
    address: SocketAddr,
    stderr: mpsc::UnboundedReceiver<String>,
}

impl Sample {
    /// Starts `binary` with `env` on a free port and waits until it serves.
    async fn start(binary: &str, env: &[(&str, &str)]) -> Sample {
        let port = free_port();
        let mut env = env.to_vec();
        let port_text = port.to_string();
        env.push(("GRPC_PORT", &port_text));
        Sample::start_with(binary, &env, port).await
    }

    /// Starts `binary` with exactly `env` (plus `PATH`) and waits until it serves on `port`.
    async fn start_with(binary: &str, env: &[(&str, &str)], port: u16) -> Sample {
        let (mut child, mut stderr) = spawn(binary, env);
        let listening = next_line(&mut stderr).await;
        assert_eq!(
            listening,
            format!("riff function: serving streaming.Riff on 0.0.0.0:{port}"),
            "{binary} did not start serving"
        );
        assert!(child.try_wait().unwrap().is_none());
        Sample {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            stderr,
        }
    }

    /// Sends `signals`, half-closes, and returns the output frames and the final status.
    async fn call(&self, signals: Vec<InputSignal>) -> (Vec<OutputFrame>, Status) {
        let mut client = client(self.address).await;
        match client.invoke(tokio_stream::iter(signals)).await {
            Ok(response) => collect(response.into_inner()).await,
            Err(status) => (vec![], status),
        }
    }

    /// An open call: dropping the sender half-closes it.
    async fn open(&self) -> (mpsc::Sender<InputSignal>, Streaming<OutputSignal>) {
        let (sender, receiver) = mpsc::channel(16);
        let response = client(self.address)
            .await
            .invoke(ReceiverStream::new(receiver))
            .await
            .unwrap();
        (sender, response.into_inner())
    }
}

/// Runs `binary` with exactly `env` (plus `PATH`); its stderr lines arrive on the receiver.
fn spawn(binary: &str, env: &[(&str, &str)]) -> (Child, mpsc::UnboundedReceiver<String>) {
    let mut child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = sender.send(line);
        }
    });
    (child, receiver)
}

/// The next stderr line.
async fn next_line(stderr: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(PATIENCE, stderr.recv())
        .await
        .expect("no stderr line in time")
        .expect("stderr closed")
}

/// A port nobody listens on (right now).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn client(address: SocketAddr) -> RiffClient<tonic::transport::Channel> {
    RiffClient::connect(format!("http://{address}"))
        .await
        .unwrap()
}

/// Reads a response to its end.
async fn collect(mut responses: Streaming<OutputSignal>) -> (Vec<OutputFrame>, Status) {
    let mut frames = vec![];
    loop {
        match tokio::time::timeout(PATIENCE, responses.message())
            .await
            .expect("the call did not end")
        {
            Ok(Some(signal)) => frames.push(data(signal)),
            Ok(None) => break (frames, Status::ok("")),
            Err(status) => break (frames, status),
        }
    }
}

fn data(signal: OutputSignal) -> OutputFrame {
    let Some(output_signal::Frame::Data(frame)) = signal.frame else {
        panic!("an OutputSignal without a frame");
    };
    frame
}

fn start(inputs: &[&str], outputs: &[&str]) -> InputSignal {
    let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
    InputSignal {
        frame: Some(input_signal::Frame::Start(StartFrame {
            expected_content_types: vec!["application/json".into(); outputs.len()],
            input_names: strings(inputs),
            output_names: strings(outputs),
        })),
    }
}

fn json(arg_index: i32, json: &str) -> InputSignal {
    InputSignal {
        frame: Some(input_signal::Frame::Data(InputFrame {
            payload: json.as_bytes().to_vec().into(),
            content_type: "application/json".into(),
            headers: Default::default(),
            arg_index,
        })),
    }
}

fn payloads(frames: &[OutputFrame]) -> Vec<String> {
    frames
        .iter()
        .map(|frame| {
            assert_eq!(frame.content_type, "application/json");
            String::from_utf8(frame.payload.to_vec()).unwrap()
        })
        .collect()
}

fn assert_failed(status: &Status, code: Code, prefix: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().starts_with(prefix),
        "message {:?} does not start with {prefix:?}",
        status.message()
    );
}

/// The next frame of an open call, and when it arrived.
async fn next_frame(responses: &mut Streaming<OutputSignal>) -> (String, Instant) {
    let signal = tokio::time::timeout(PATIENCE, responses.message())
        .await
        .expect("no output in time")
        .expect("the call failed")
        .expect("the call completed");
    let frame = data(signal);
    (
        String::from_utf8(frame.payload.to_vec()).unwrap(),
        Instant::now(),
    )
}

const SQUARE: &str = env!("CARGO_BIN_EXE_square");
const TIME_AVERAGER: &str = env!("CARGO_BIN_EXE_time-averager");
const ZIP_SUM: &str = env!("CARGO_BIN_EXE_zip-sum");
const FLAKY_SQUARE: &str = env!("CARGO_BIN_EXE_flaky-square");
const PASS_THROUGH: &str = env!("CARGO_BIN_EXE_pass-through");

#[tokio::test]
async fn b49_a_function_serves_on_grpc_port_and_stops_on_sigterm() {
    let mut square = Sample::start(SQUARE, &[]).await;
    let (frames, status) = square
        .call(vec![start(&["in"], &["out"]), json(0, "2"), json(0, "3")])
        .await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(payloads(&frames), ["4", "9"]);

    let pid = square.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    let exit = tokio::time::timeout(PATIENCE, square.child.wait())
        .await
        .expect("square did not stop on SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(
        next_line(&mut square.stderr).await,
        "riff function: SIGTERM received, finishing in-flight calls"
    );
}

#[tokio::test]
async fn b49_the_default_port_is_8081() {
    if std::net::TcpListener::bind("0.0.0.0:8081").is_err() {
        eprintln!("port 8081 is in use: only GRPC_PORT is tested");
        return;
    }
    let square = Sample::start_with(SQUARE, &[], 8081).await;
    let (frames, status) = square
        .call(vec![start(&["in"], &["out"]), json(0, "5")])
        .await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(payloads(&frames), ["25"]);
}

#[tokio::test]
async fn an_invalid_grpc_port_stops_the_function_with_a_message() {
    let (child, mut stderr) = spawn(SQUARE, &[("GRPC_PORT", "eighty")]);
    let exit = child.wait_with_output().await.unwrap();
    assert!(!exit.status.success());
    assert_eq!(
        next_line(&mut stderr).await,
        "Error: GRPC_PORT must be a TCP port number, got \"eighty\""
    );
}

#[tokio::test]
async fn square_fails_the_call_on_a_non_number() {
    let square = Sample::start(SQUARE, &[]).await;
    let (frames, status) = square
        .call(vec![
            start(&["in"], &["out"]),
            json(0, "3"),
            json(0, "\"three\""),
        ])
        .await;
    assert_eq!(payloads(&frames), ["9"]);
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: expected a JSON number, got \"three\"",
    );
}

#[tokio::test]
async fn square_fails_the_call_on_invalid_json_with_a_bad_input_signal() {
    let square = Sample::start(SQUARE, &[]).await;
    let (frames, status) = square
        .call(vec![start(&["in"], &["out"]), json(0, "2"), json(0, "{")])
        .await;
    assert_eq!(payloads(&frames), ["4"]);
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Bad Input Signal: input 0 (in): invalid application/json payload: ",
    );
}

#[tokio::test]
async fn pass_through_returns_the_bytes_it_got() {
    let pass_through = Sample::start(PASS_THROUGH, &[]).await;
    let documents = [r#"{"b":1,"a":0.00}"#, "[ 1e3, -0.0 ]", r#""\u00e9""#];
    let mut signals = vec![start(&["in"], &["out"])];
    signals.extend(documents.iter().map(|document| json(0, document)));
    let (frames, status) = pass_through.call(signals).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(payloads(&frames), documents);
}

#[tokio::test]
async fn time_averager_emits_one_average_per_sub_window_and_the_partial_last_one() {
    let averager = Sample::start(TIME_AVERAGER, &[("AVERAGE_OVER", "1s")]).await;
    let (sender, mut responses) = averager.open().await;
    sender
        .send(start(&["numbers"], &["averages"]))
        .await
        .unwrap();
    let first = Instant::now();
    sender.send(json(0, "1")).await.unwrap();
    sender.send(json(0, "4")).await.unwrap();

    // The first sub-window closes 1s after the first number.
    let (average, at) = next_frame(&mut responses).await;
    assert_eq!(average, "2.5");
    let elapsed = at - first;
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");

    // The second sub-window is cut short by the end of the input.
    sender.send(json(0, "10")).await.unwrap();
    sender.send(json(0, "20")).await.unwrap();
    drop(sender);
    let (frames, status) = collect(responses).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(payloads(&frames), ["15"]);
    assert!(first.elapsed() < Duration::from_millis(1900));
}

#[tokio::test]
async fn time_averager_emits_nothing_without_numbers() {
    let averager = Sample::start(TIME_AVERAGER, &[("AVERAGE_OVER", "100ms")]).await;
    let (sender, responses) = averager.open().await;
    sender
        .send(start(&["numbers"], &["averages"]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(sender);
    let (frames, status) = collect(responses).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert!(frames.is_empty());
}

#[tokio::test]
async fn time_averager_fails_the_call_on_a_non_number() {
    let averager = Sample::start(TIME_AVERAGER, &[("AVERAGE_OVER", "10s")]).await;
    let (_, status) = averager
        .call(vec![
            start(&["numbers"], &["averages"]),
            json(0, "{\"n\": 1}"),
        ])
        .await;
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: expected a JSON number, got {\"n\":1}",
    );
}

#[tokio::test]
async fn time_averager_rejects_a_bad_average_over() {
    let (child, mut stderr) = spawn(TIME_AVERAGER, &[("AVERAGE_OVER", "10 seconds")]);
    let exit = child.wait_with_output().await.unwrap();
    assert!(!exit.status.success());
    assert!(next_line(&mut stderr)
        .await
        .starts_with("Error: AVERAGE_OVER: invalid duration \"10 seconds\""));
}

#[tokio::test]
async fn zip_sum_adds_the_ith_numbers_of_both_inputs_and_logs_unpaired_ones() {
    let mut zip_sum = Sample::start(ZIP_SUM, &[]).await;
    let (frames, status) = zip_sum
        .call(vec![
            start(&["left", "right"], &["sums"]),
            json(0, "1"),
            json(0, "2"),
            json(1, "10"),
            json(0, "3"),
            json(1, "20"),
            json(1, "30"),
            json(1, "40.5"),
        ])
        .await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert!(frames.iter().all(|frame| frame.result_index == 0));
    assert_eq!(payloads(&frames), ["11", "22", "33"]);
    assert_eq!(
        next_line(&mut zip_sum.stderr).await,
        "zip-sum: dropping unpaired number 40.5 of input 1"
    );
}

#[tokio::test]
async fn zip_sum_needs_two_inputs() {
    let zip_sum = Sample::start(ZIP_SUM, &[]).await;
    let (_, status) = zip_sum
        .call(vec![start(&["left"], &["sums"]), json(0, "1")])
        .await;
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: no input 1",
    );
}

#[tokio::test]
async fn flaky_square_fails_its_first_invocations_after_reading_their_input_then_squares() {
    let flaky = Sample::start(FLAKY_SQUARE, &[("FAIL_INVOCATIONS", "2")]).await;

    // First invocation: no answer while the input is open, failure once it completed.
    let (sender, mut responses) = flaky.open().await;
    sender.send(start(&["in"], &["out"])).await.unwrap();
    sender.send(json(0, "2")).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), responses.message()).await;
    assert!(
        early.is_err(),
        "answered before the input completed: {early:?}"
    );
    drop(sender);
    let (frames, status) = collect(responses).await;
    assert!(frames.is_empty());
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: flaky-square fails invocation 1 of the first 2 on purpose",
    );

    let (frames, status) = flaky
        .call(vec![start(&["in"], &["out"]), json(0, "2")])
        .await;
    assert!(frames.is_empty());
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: flaky-square fails invocation 2",
    );

    let (frames, status) = flaky
        .call(vec![start(&["in"], &["out"]), json(0, "2"), json(0, "3")])
        .await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(payloads(&frames), ["4", "9"]);
}

#[tokio::test]
async fn flaky_square_fails_its_first_invocations_and_on_its_poison_value() {
    let env = [("FAIL_INVOCATIONS", "1"), ("FAIL_ON", "5")];
    let flaky = Sample::start(FLAKY_SQUARE, &env).await;
    let call = |value| {
        flaky.call(vec![
            start(&["in"], &["out"]),
            json(0, "-3"),
            json(0, value),
        ])
    };
    let (_, status) = call("2").await;
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: flaky-square fails invocation 1 of the first 1",
    );
    let (frames, status) = call("2").await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
    assert_eq!(payloads(&frames), ["9", "4"]);
    let (frames, status) = call("5").await;
    assert_failed(
        &status,
        Code::Unknown,
        "Invoker: Function Error: flaky-square fails on 5",
    );
    assert!(frames.is_empty(), "no output of a failed call");
}
