//! The processor pipeline against a scripted invoker over real gRPC and the in-memory broker:
//! what the function is sent, and what happens when it misbehaves.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::Arbiter;
use futures::{Stream, StreamExt};
use riff_actors::broker::memory::MemoryBroker;
use riff_actors::broker::{Broker, OffsetReset};
use riff_actors::message::Message;
use riff_actors::metrics::ProcessorMetrics;
use riff_actors::processor::Health;
use riff_actors::processor::{self, Capacity, InputBinding, OutputBinding, PipelineConfig};
use riff_actors::resources::{ResolvedDelivery, ResolvedWindow, Shape};
use riff_protocol::riff::riff_server::{Riff, RiffServer};
use riff_protocol::riff::{input_signal, output_signal, InputSignal, OutputFrame, OutputSignal};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming};

/// An invoker that records every call's frames and answers each input frame with an output
/// frame of `result_index`; with `first_only`, it completes each call after its first input;
/// with `slow_first`, its first call answers only after that long.
#[derive(Clone, Default)]
struct Scripted {
    calls: Arc<Mutex<Vec<Vec<input_signal::Frame>>>>,
    result_index: i32,
    first_only: bool,
    slow_first: Option<Duration>,
}

#[tonic::async_trait]
impl Riff for Scripted {
    type InvokeStream = Pin<Box<dyn Stream<Item = Result<OutputSignal, Status>> + Send>>;

    async fn invoke(
        &self,
        request: Request<Streaming<InputSignal>>,
    ) -> Result<Response<Self::InvokeStream>, Status> {
        let mut frames = request.into_inner();
        let (calls, result_index, first_only) =
            (self.calls.clone(), self.result_index, self.first_only);
        let call = calls.lock().unwrap().len();
        calls.lock().unwrap().push(Vec::new());
        let slow = self.slow_first.filter(|_| call == 0);
        let outputs = async_stream(async move {
            let mut outputs = Vec::new();
            while let Some(Ok(signal)) = frames.next().await {
                let frame = signal.frame.unwrap();
                if let input_signal::Frame::Data(data) = &frame {
                    outputs.push(Ok(OutputSignal {
                        frame: Some(output_signal::Frame::Data(OutputFrame {
                            payload: data.payload.clone(),
                            content_type: "application/json".into(),
                            headers: data.headers.clone(),
                            result_index,
                        })),
                    }));
                }
                calls.lock().unwrap()[call].push(frame);
                if first_only && !outputs.is_empty() {
                    break;
                }
            }
            if let Some(slow) = slow {
                tokio::time::sleep(slow).await;
            }
            outputs
        });
        Ok(Response::new(Box::pin(outputs)))
    }
}

/// The outputs once the input completed, as a stream.
fn async_stream(
    outputs: impl std::future::Future<Output = Vec<Result<OutputSignal, Status>>> + Send + 'static,
) -> impl Stream<Item = Result<OutputSignal, Status>> + Send {
    futures::stream::once(outputs).flat_map(futures::stream::iter)
}

async fn serve(invoker: Scripted) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RiffServer::new(invoker))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{address}")
}

/// A processor `p` reading `in` (and `in2`) and writing `out`, windows of `count` messages.
async fn pipeline(broker: &Arc<MemoryBroker>, function: String, count: u64) -> PipelineConfig {
    for topic in ["in", "in2", "out"] {
        broker
            .provision(topic, 1, "application/json")
            .await
            .unwrap();
    }
    let input = |name: &str| InputBinding {
        name: format!("{name}-alias"),
        broker: broker.clone(),
        topic: name.into(),
        reset: OffsetReset::Earliest,
        content_type: "application/json".into(),
    };
    PipelineConfig {
        resource: "processor test/p".into(),
        metrics: ProcessorMetrics::new("test", "p"),
        group: "p".into(),
        inputs: vec![input("in"), input("in2")],
        outputs: vec![OutputBinding {
            name: "result".into(),
            broker: broker.clone(),
            topic: "out".into(),
            content_type: "application/json".into(),
        }],
        function,
        window: ResolvedWindow {
            shape: Shape::Tumbling {
                duration: None,
                aligned: false,
            },
            count: Some(count),
            ..ResolvedWindow::default()
        },
        capacity: Capacity {
            records: 100,
            ..Capacity::default()
        },
        delivery: ResolvedDelivery::default(),
        dead_letter: None,
        health: Health::default(),
    }
}

/// Awaits `done` until it holds, at most 10 s.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let timeout = Duration::from_secs(10);
    riff_testkit::eventually_async(what, timeout, || {
        let done = done();
        async move { done.await.then_some(()) }
    })
    .await
}

#[actix_rt::test]
async fn the_function_gets_a_start_frame_then_each_input_with_its_arg_index_and_headers() {
    let invoker = Scripted::default();
    let broker = Arc::new(MemoryBroker::new());
    let config = pipeline(&broker, serve(invoker.clone()).await, 2).await;
    let processor = processor::start(config, &Arbiter::current()).unwrap();
    processor::subscribed(&processor).await;

    let mut first = Message::new("1", "application/json");
    first.headers.insert("trace".into(), "t-1".into());
    broker.publish("in", first).await.unwrap();
    broker
        .publish("in2", Message::new("2", "application/json"))
        .await
        .unwrap();
    eventually("the window's outputs", || async {
        broker.end_offsets("out").await.unwrap().get(&0) == Some(&1)
    })
    .await;

    let calls = invoker.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one window of two messages is one call");
    let input_signal::Frame::Start(start) = &calls[0][0] else {
        panic!("{:?}", calls[0][0])
    };
    assert_eq!(start.expected_content_types, ["application/json"]);
    assert_eq!(start.input_names, ["in-alias", "in2-alias"]);
    assert_eq!(start.output_names, ["result"]);
    let data: Vec<_> = calls[0][1..]
        .iter()
        .map(|frame| match frame {
            input_signal::Frame::Data(data) => data.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(data[0].arg_index, 0);
    assert_eq!(&data[0].payload[..], b"1");
    assert_eq!(
        data[0].headers.get("trace").map(String::as_str),
        Some("t-1")
    );
    assert_eq!(data[1].arg_index, 1);
    assert_eq!(broker.committed("in", "p").await.unwrap().get(&0), Some(&0));
    assert_eq!(
        broker.committed("in2", "p").await.unwrap().get(&0),
        Some(&0)
    );
}

#[actix_rt::test]
async fn a_result_index_out_of_range_fails_the_window_which_is_retried_and_never_committed() {
    let invoker = Scripted {
        result_index: 7,
        ..Scripted::default()
    };
    let broker = Arc::new(MemoryBroker::new());
    let config = pipeline(&broker, serve(invoker.clone()).await, 1).await;
    let processor = processor::start(config, &Arbiter::current()).unwrap();
    processor::subscribed(&processor).await;

    broker
        .publish("in", Message::new("1", "application/json"))
        .await
        .unwrap();
    let calls = || async { invoker.calls.lock().unwrap().len() >= 3 };
    eventually("two retries of the window", calls).await;

    let calls = invoker.calls.lock().unwrap().clone();
    assert!(
        calls.iter().all(|call| call.len() == 2),
        "each retry redelivers the window: {calls:?}"
    );
    assert!(broker.committed("in", "p").await.unwrap().is_empty());
    assert!(broker.end_offsets("out").await.unwrap().is_empty());
}

// Hole: a call that ended before riff closed its input committed records the function never got.
#[actix_rt::test]
async fn a_call_completed_before_riff_closed_its_input_fails_and_commits_nothing() {
    let invoker = Scripted {
        first_only: true,
        ..Scripted::default()
    };
    let broker = Arc::new(MemoryBroker::new());
    let config = pipeline(&broker, serve(invoker.clone()).await, 50).await;
    let processor = processor::start(config, &Arbiter::current()).unwrap();
    processor::subscribed(&processor).await;

    let publish = |numbers: std::ops::Range<u32>| {
        let broker = broker.clone();
        async move {
            for n in numbers {
                let message = Message::new(n.to_string(), "application/json");
                broker.publish("in", message).await.unwrap();
            }
        }
    };
    publish(0..10).await; // the window (50 records) stays open
    let calls = || async { invoker.calls.lock().unwrap().len() >= 3 };
    eventually("two retries of the window", calls).await;
    assert_eq!(
        broker.committed("in", "p").await.unwrap(),
        Default::default(),
        "no record is committed while every call ends before its input"
    );
    let calls = invoker.calls.lock().unwrap().clone();
    assert!(
        calls.iter().all(|call| call.len() == 2),
        "the function read one record of each attempt: {calls:?}"
    );

    // Once riff handed the function the whole window and closed its input, the function's
    // completion is its answer to all of it: the window is committed.
    publish(10..50).await;
    eventually("the window's commit", || async {
        broker.committed("in", "p").await.unwrap().get(&0) == Some(&49)
    })
    .await;
}

// Several windows are called at once, yet outputs follow window order and commits wait for
// every earlier window.
#[actix_rt::test]
async fn later_windows_are_called_while_an_earlier_one_runs_and_their_outputs_follow_it() {
    let invoker = Scripted {
        slow_first: Some(Duration::from_millis(500)),
        ..Scripted::default()
    };
    let broker = Arc::new(MemoryBroker::new());
    let config = pipeline(&broker, serve(invoker.clone()).await, 1).await;
    let processor = processor::start(config, &Arbiter::current()).unwrap();
    processor::subscribed(&processor).await;

    for n in 0..6 {
        let message = Message::new(n.to_string(), "application/json");
        broker.publish("in", message).await.unwrap();
    }
    // The first call answers after 500 ms; the later windows' calls start meanwhile.
    let started = || async { invoker.calls.lock().unwrap().len() >= 6 };
    eventually("every window's call started", started).await;
    assert_eq!(
        broker.end_offsets("out").await.unwrap(),
        Default::default(),
        "no output before the first window's"
    );
    assert_eq!(
        broker.committed("in", "p").await.unwrap(),
        Default::default()
    );

    eventually("every output", || async {
        broker.end_offsets("out").await.unwrap().get(&0) == Some(&5)
    })
    .await;
    let mut outputs = broker
        .subscribe("out", "reader", OffsetReset::Earliest)
        .await
        .unwrap()
        .deliveries;
    let mut payloads = Vec::new();
    while payloads.len() < 6 {
        if let Some(Ok(riff_actors::broker::Delivery::Record(record))) = outputs.next().await {
            payloads.push(String::from_utf8(record.message.payload.to_vec()).unwrap());
        }
    }
    assert_eq!(payloads, ["0", "1", "2", "3", "4", "5"], "window order");
    eventually("every window committed", || async {
        broker.committed("in", "p").await.unwrap().get(&0) == Some(&5)
    })
    .await;
}

// In-flight memory is bounded in bytes too: a window closes once it holds half the byte capacity.
#[actix_rt::test]
async fn a_window_closes_at_half_the_byte_capacity() {
    let invoker = Scripted::default();
    let broker = Arc::new(MemoryBroker::new());
    let mut config = pipeline(&broker, serve(invoker.clone()).await, 1000).await;
    config.capacity = Capacity {
        records: 1000,
        bytes: 100 * 1024,
    };
    let processor = processor::start(config, &Arbiter::current()).unwrap();
    processor::subscribed(&processor).await;

    let payload = format!("\"{}\"", "x".repeat(10 * 1024 - 2)); // 10 KiB of JSON
    for _ in 0..20 {
        let message = Message::new(payload.clone(), "application/json");
        broker.publish("in", message).await.unwrap();
    }
    eventually("every record committed", || async {
        broker.committed("in", "p").await.unwrap().get(&0) == Some(&19)
    })
    .await;
    let calls = invoker.calls.lock().unwrap().clone();
    let sizes: Vec<usize> = calls.iter().map(|call| call.len() - 1).collect();
    assert_eq!(sizes, [5, 5, 5, 5], "windows of 50 KiB: {sizes:?}");
}
