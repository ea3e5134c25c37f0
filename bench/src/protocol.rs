//! Messages per second through `streaming.Riff/Invoke` with the function on one core: the SDK's
//! `pass-through` sample against a bare tonic echo server (no SDK) built into this binary.

use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use riff_protocol::riff::riff_client::RiffClient;
use riff_protocol::riff::riff_server::{Riff, RiffServer};
use riff_protocol::riff::{
    input_signal, output_signal, InputFrame, InputSignal, OutputFrame, OutputSignal, StartFrame,
};
use tonic::{Request, Response, Status, Streaming};

use crate::function::{sibling, wait_for_port, Function};
use crate::measure::{free_port, json_payload, rate};

/// Calls per figure, alternating between the two servers; each figure is the median.
const ROUNDS: usize = 5;

/// Frames per second of one call of `count` 100-byte JSON frames through the SDK's
/// `pass-through`, and through the bare echo server, each pinned to CPU 0 (medians of
/// [`ROUNDS`] calls each).
pub async fn invoke_rate(count: usize) -> (f64, f64) {
    let payloads: Vec<Bytes> = (0..count).map(|i| json_payload(i, 100)).collect();
    let function = Function::start("pass-through", &[], Some(0));
    let (mut bare, bare_url) = bare_echo(&["taskset", "-c", "0"]);
    let (mut ours, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(one_call(&function.url, &payloads).await);
        baseline.push(one_call(&bare_url, &payloads).await);
    }
    stop(&mut bare);
    (median(ours), median(baseline))
}

/// Starts the bare echo server (through `wrapper`, e.g. `taskset`, when not empty) on a free
/// port; the process and its URL, once it listens.
fn bare_echo(wrapper: &[&str]) -> (Child, String) {
    let port = free_port();
    let server = sibling("riff-bench");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(server);
            command
        }
        None => Command::new(server),
    };
    let bare = command
        .args(["bare-echo", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .expect("the bare echo server starts");
    wait_for_port(port);
    (bare, format!("http://127.0.0.1:{port}"))
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn stop(child: &mut Child) {
    _ = child.kill();
    _ = child.wait();
}

/// Streams `payloads` as the frames of one call and reads every output, checking that each
/// comes back byte for byte, in order, as `application/json`; frames per second.
async fn one_call(url: &str, payloads: &[Bytes]) -> f64 {
    let mut client = RiffClient::connect(url.to_owned()).await.unwrap();
    let frames: Vec<_> = payloads.iter().map(data_signal).collect();
    let requests = futures::stream::iter(std::iter::once(start_signal()).chain(frames));
    let began = Instant::now();
    let mut outputs = client.invoke(requests).await.unwrap().into_inner();
    let mut received = 0;
    while let Some(output) = outputs.next().await {
        let Some(output_signal::Frame::Data(frame)) = output.unwrap().frame else {
            panic!("an OutputSignal without a frame");
        };
        assert_eq!(frame.payload, payloads[received], "output {received}");
        assert_eq!(frame.content_type, "application/json");
        received += 1;
    }
    assert_eq!(received, payloads.len());
    rate(received, began.elapsed())
}

/// One-frame calls per second of a bare tonic client against the bare echo server (both
/// unpinned, no SDK, no riff, no Kafka), `in_flight` calls at once, each slot on a connection
/// of its own (as riff's invoker): what count-1 windows could reach on this machine with tonic
/// and nothing else to do. `calls` calls in all, every reply checked.
pub async fn call_rate(in_flight: usize, calls: usize) -> f64 {
    let (mut bare, url) = bare_echo(&[]);
    let mut slots = Vec::new();
    for _ in 0..in_flight {
        slots.push(RiffClient::connect(url.clone()).await.unwrap());
    }
    let payload = json_payload(0, 100);
    let per_slot = calls / in_flight;
    let began = Instant::now();
    let slots = slots.into_iter().map(|mut client| {
        let payload = payload.clone();
        tokio::spawn(async move {
            for _ in 0..per_slot {
                let requests = futures::stream::iter([start_signal(), data_signal(&payload)]);
                let mut outputs = client.invoke(requests).await.unwrap().into_inner();
                let mut received = 0;
                while let Some(output) = outputs.next().await {
                    let Some(output_signal::Frame::Data(frame)) = output.unwrap().frame else {
                        panic!("an OutputSignal without a frame");
                    };
                    assert_eq!(frame.payload, payload);
                    received += 1;
                }
                assert_eq!(received, 1);
            }
        })
    });
    for slot in futures::future::join_all(slots).await {
        slot.expect("a call slot");
    }
    let elapsed = began.elapsed();
    stop(&mut bare);
    rate(per_slot * in_flight, elapsed)
}

fn start_signal() -> InputSignal {
    InputSignal {
        frame: Some(input_signal::Frame::Start(StartFrame {
            expected_content_types: vec!["application/json".into()],
            input_names: vec!["in".into()],
            output_names: vec!["out".into()],
        })),
    }
}

fn data_signal(payload: &Bytes) -> InputSignal {
    InputSignal {
        frame: Some(input_signal::Frame::Data(InputFrame {
            payload: payload.clone(),
            content_type: "application/json".into(),
            headers: Default::default(),
            arg_index: 0,
        })),
    }
}

/// A bare echo invoker: each input frame back as an output frame, nothing decoded.
struct BareEcho;

#[tonic::async_trait]
impl Riff for BareEcho {
    type InvokeStream = Pin<Box<dyn Stream<Item = Result<OutputSignal, Status>> + Send>>;

    async fn invoke(
        &self,
        request: Request<Streaming<InputSignal>>,
    ) -> Result<Response<Self::InvokeStream>, Status> {
        let outputs = request.into_inner().filter_map(|signal| async move {
            match signal {
                Ok(InputSignal {
                    frame: Some(input_signal::Frame::Data(frame)),
                }) => Some(Ok(OutputSignal {
                    frame: Some(output_signal::Frame::Data(OutputFrame {
                        payload: frame.payload,
                        content_type: frame.content_type,
                        headers: frame.headers,
                        result_index: 0,
                    })),
                })),
                Ok(_) => None,
                Err(status) => Some(Err(status)),
            }
        });
        Ok(Response::new(Box::pin(outputs)))
    }
}

/// Serves the bare echo invoker on `port` (the `bare-echo` subcommand).
pub async fn serve_bare_echo(port: u16) {
    tonic::transport::Server::builder()
        .add_service(RiffServer::new(BareEcho))
        .serve(([127, 0, 0, 1], port).into())
        .await
        .unwrap();
}
