//! InvokerActor: one `streaming.Riff/Invoke` call per window attempt, results routed to outputs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use actix::prelude::*;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use riff_protocol::riff::{
    input_signal, output_signal, riff_client::RiffClient, InputFrame, InputSignal, OutputFrame,
    OutputSignal, StartFrame,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::messages::{
    Abandon, Acknowledged, CallEnded, CallFailure, HalfClose, SendFrames, StartCall, Stop, WindowId,
};
use super::OutputBinding;
use crate::message::Message;
use crate::metrics::processor::ProcessorLabels;
use crate::metrics::{ProcessorMetrics, StreamCounter};
use crate::traces::CallTrace;

/// Batches of frames buffered between the pipeline and the gRPC call.
const CALL_BUFFER: usize = 16;

/// Why a call that completed before its window's input ended fails: riff cannot know which
/// records the function read, so none of the window is committed and the window is retried.
const ENDED_EARLY: &str =
    "protocol violation: the function completed the call before riff closed its input";

/// Resolves once the previous call handed every output to the broker; fails if it failed.
type Turn = oneshot::Receiver<()>;

/// How long [`connect_early`] keeps trying while the function starts.
const CONNECT_EARLY_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Opens `channel`'s connection to the function before the first call needs it, so the first
/// records do not wait for it (a hundred processors started together would otherwise connect
/// all at once under their first load). It asks the function's gRPC health service: any answer,
/// `Unimplemented` included, means connected. Retried while the function starts.
pub async fn connect_early(channel: Channel) {
    use tonic::codegen::http::uri::PathAndQuery;
    let deadline = tokio::time::Instant::now() + CONNECT_EARLY_FOR;
    let mut grpc = tonic::client::Grpc::new(channel);
    while tokio::time::Instant::now() < deadline {
        if grpc.ready().await.is_ok() {
            let check = PathAndQuery::from_static("/grpc.health.v1.Health/Check");
            let codec = tonic_prost::ProstCodec::<(), ()>::default();
            match grpc.unary(tonic::Request::new(()), check, codec).await {
                Err(status) if status.code() == tonic::Code::Unavailable => {}
                _ => return,
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// An invocation whose input is open.
struct Call {
    frames: mpsc::Sender<Vec<InputSignal>>,
    /// Its span, when calls are traced: later records' traces are linked to it.
    trace: Option<CallTrace>,
}

/// Talks to the function: opens a call per window attempt (several at once, each on a
/// connection of its own, so that a call waiting for its turn never holds up an earlier one;
/// the first connection no running call uses, so a processor whose calls come one at a time
/// opens one connection, not one per call in flight),
/// streams the window's frames into it, publishes its output frames to the outputs named by
/// their `resultIndex` once every earlier call's outputs were handed to the broker, and reports
/// the outcome.
pub struct InvokerActor {
    /// One client per call that may be in flight.
    clients: Vec<RiffClient<Channel>>,
    start: StartFrame,
    outputs: Vec<OutputBinding>,
    /// The records written to each output.
    writes: Vec<StreamCounter>,
    /// The processor's namespace and name, for its calls' spans.
    labels: ProcessorLabels,
    report: Recipient<CallEnded>,
    calls: HashMap<WindowId, Call>,
    /// The calls running, each with the client it uses.
    running: Vec<(usize, JoinHandle<()>)>,
    /// The turn of the next call: when the last call started handed over its outputs.
    turn: Option<Turn>,
}

impl InvokerActor {
    /// An invoker calling the function over `channels` (one per call in flight); `start` is
    /// sent first on every call.
    pub fn new(
        channels: Vec<Channel>,
        start: StartFrame,
        outputs: Vec<OutputBinding>,
        metrics: ProcessorMetrics,
        report: Recipient<CallEnded>,
    ) -> Self {
        InvokerActor {
            clients: channels.into_iter().map(RiffClient::new).collect(),
            start,
            writes: outputs.iter().map(|o| metrics.writes(&o.name)).collect(),
            labels: metrics.labels().clone(),
            outputs,
            report,
            calls: HashMap::new(),
            running: Vec::new(),
            turn: None,
        }
    }

    fn abandon_all(&mut self) {
        self.running
            .drain(..)
            .for_each(|(_, running)| running.abort());
        self.calls.clear();
        self.turn = None;
    }
}

impl Actor for InvokerActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.abandon_all();
    }
}

impl Handler<StartCall> for InvokerActor {
    type Result = ();

    fn handle(&mut self, call: StartCall, _: &mut Context<Self>) {
        let StartCall {
            window,
            attempt,
            frames,
            closed,
        } = call;
        let (namespace, processor) = (&self.labels.namespace, &self.labels.processor);
        let trace = CallTrace::start(namespace, processor, window, attempt, &frames);
        let (sender, requests) = mpsc::channel(CALL_BUFFER);
        // The start frame and the frames so far go together (one write to the connection).
        let first = std::iter::once(input_signal::Frame::Start(self.start.clone()))
            .chain(frames.into_iter().map(input_signal::Frame::Data))
            .map(|frame| InputSignal { frame: Some(frame) })
            .collect();
        sender
            .try_send(first)
            .expect("a new channel has room for the first frames");
        if !closed {
            let call = Call {
                frames: sender,
                trace: trace.clone(),
            };
            self.calls.insert(window, call);
        }
        // Set once gRPC took the end of the input: every frame of the window was handed over.
        let input_ended = Arc::new(AtomicBool::new(false));
        let ended = input_ended.clone();
        let requests = ReceiverStream::new(requests)
            .flat_map(futures::stream::iter)
            .chain(futures::stream::poll_fn(move |_| {
                ended.store(true, Ordering::SeqCst);
                Poll::Ready(None)
            }));
        self.running.retain(|(_, running)| !running.is_finished());
        let used = (0..self.clients.len())
            .find(|i| self.running.iter().all(|(user, _)| user != i))
            .unwrap_or(self.running.len() % self.clients.len());
        let client = self.clients[used].clone();
        let turn = self.turn.take();
        let (handed_over, next_turn) = oneshot::channel();
        self.turn = Some(next_turn);
        let outputs = (self.outputs.clone(), self.writes.clone());
        let call = invoke(client, requests, outputs, turn, trace.clone());
        let report = self.report.clone();
        // Polled outside this actor's context so that outputs keep flowing while a SendFrames
        // waits for room in the call: the function may block its input on its output.
        let running = actix::spawn(async move {
            let outcome = call.await.and_then(|acknowledged| {
                if input_ended.load(Ordering::SeqCst) {
                    Ok(acknowledged)
                } else {
                    Err(CallFailure::function(ENDED_EARLY))
                }
            });
            let outcome = match trace {
                Some(trace) => traced(outcome, trace),
                None => outcome,
            };
            let succeeded = outcome.is_ok();
            report.do_send(CallEnded {
                window,
                attempt,
                outcome,
            });
            // The next call's turn, once this report is on its way: reports arrive in order.
            if succeeded {
                _ = handed_over.send(());
            }
        });
        self.running.push((used, running));
    }
}

impl Handler<SendFrames> for InvokerActor {
    type Result = ();

    fn handle(&mut self, SendFrames { window, frames }: SendFrames, ctx: &mut Context<Self>) {
        let Some(call) = self.calls.get(&window) else {
            return; // the call already ended; the window will be retried or was completed
        };
        let sender = call.frames.clone();
        if let Some(trace) = &call.trace {
            trace.link(&frames);
        }
        let signals = frames
            .into_iter()
            .map(|frame| InputSignal {
                frame: Some(input_signal::Frame::Data(frame)),
            })
            .collect();
        // Waits while the function is slower than the input: back-pressure.
        ctx.wait(
            async move {
                // A call that ended takes no more frames; its outcome is reported anyway.
                _ = sender.send(signals).await;
            }
            .into_actor(self),
        );
    }
}

impl Handler<HalfClose> for InvokerActor {
    type Result = ();

    fn handle(&mut self, HalfClose { window }: HalfClose, _: &mut Context<Self>) {
        // Dropping the sender half-closes the request stream.
        self.calls.remove(&window);
    }
}

impl Handler<Abandon> for InvokerActor {
    type Result = ();

    fn handle(&mut self, _: Abandon, _: &mut Context<Self>) {
        self.abandon_all();
    }
}

impl Handler<Stop> for InvokerActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// `outcome` of a traced call, its span ended with the acknowledgement of its outputs.
fn traced(
    outcome: Result<Acknowledged, CallFailure>,
    trace: CallTrace,
) -> Result<Acknowledged, CallFailure> {
    let acknowledged = outcome.inspect_err(|failure| trace.ended(Some(&failure.reason)))?;
    Ok(Box::pin(async move {
        let acknowledged = acknowledged.await;
        trace.ended(acknowledged.as_ref().err().map(|f| f.reason.as_str()));
        acknowledged
    }))
}

/// The frame for `message` read from input number `input`: its riff headers travel along.
pub(super) fn input_frame(input: usize, message: &Message) -> InputFrame {
    InputFrame {
        headers: message
            .riff_headers()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        payload: message.payload.clone(),
        content_type: message.content_type.clone(),
        arg_index: input as i32,
    }
}

/// Output records a call may wait to be acknowledged before it reads the next output frames:
/// enough for a million records a second through the producer's linger (5 ms) and round trip,
/// so that a long window's outputs are not paced by acknowledgements, while the calls in flight
/// together stay below librdkafka's queue (100 000 records).
const UNACKNOWLEDGED: usize = 8192;
/// Output payload bytes a call may wait to be acknowledged (large records reach this first).
const UNACKNOWLEDGED_BYTES: usize = 16 << 20;
/// The most output frames published together.
const PUBLISH_BATCH: usize = 1024;

/// Runs one call: opens it at once (its input streams meanwhile), and once `turn` came (every
/// earlier call's outputs were handed to the broker), publishes each output frame to the output
/// named by its `resultIndex` as it arrives (those that arrived together in one batch per output,
/// in order, without waiting for earlier ones), with the call's trace context when it is traced.
/// Returns when the function completed, with the acknowledgement of every output.
async fn invoke(
    mut client: RiffClient<Channel>,
    requests: impl futures::Stream<Item = InputSignal> + Send + 'static,
    (outputs, writes): (Vec<OutputBinding>, Vec<StreamCounter>),
    turn: Option<Turn>,
    trace: Option<CallTrace>,
) -> Result<Acknowledged, CallFailure> {
    let opened = client.invoke(requests).await;
    if let Some(turn) = turn {
        turn.await.map_err(|_| {
            CallFailure::infrastructure("abandoned: an earlier window's call failed")
        })?;
    }
    let mut responses = opened
        .map_err(|status| match unreachable(&status) {
            true => CallFailure::infrastructure(status_text(&status)),
            false => CallFailure::function(status_text(&status)),
        })?
        .into_inner()
        .ready_chunks(PUBLISH_BATCH);
    let mut acknowledgements = FuturesUnordered::new();
    let (mut unacknowledged, mut unacknowledged_bytes) = (0, 0);
    while let Some(signals) = responses.next().await {
        let mut batches: Vec<Vec<Message>> = vec![Vec::new(); outputs.len()];
        let mut failure = None;
        for signal in signals {
            match output_frame(signal, outputs.len()) {
                Ok(frame) => {
                    let index = frame.result_index as usize;
                    let mut message = output_message(frame);
                    if let Some(trace) = &trace {
                        trace.stamp(&mut message);
                    }
                    batches[index].push(message);
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        for (index, (messages, output)) in batches.into_iter().zip(&outputs).enumerate() {
            if messages.is_empty() {
                continue;
            }
            let count = messages.len();
            let bytes = messages.iter().map(|m| m.payload.len()).sum::<usize>();
            unacknowledged += count;
            unacknowledged_bytes += bytes;
            let published = output.broker.publish_all(&output.topic, messages);
            let written = writes[index].clone();
            acknowledgements.push(published.map(move |ack| {
                ack.map(|()| {
                    written.add(count);
                    (count, bytes)
                })
                .map_err(|error| {
                    CallFailure::infrastructure(format!(
                        "publishing to output {index} failed: {error}"
                    ))
                })
            }));
        }
        if let Some(failure) = failure {
            return Err(CallFailure::function(failure));
        }
        while unacknowledged >= UNACKNOWLEDGED || unacknowledged_bytes >= UNACKNOWLEDGED_BYTES {
            let Some(acknowledged) = acknowledgements.next().await else {
                break;
            };
            let (count, bytes) = acknowledged?;
            unacknowledged -= count;
            unacknowledged_bytes -= bytes;
        }
    }
    Ok(Box::pin(async move {
        while let Some(acknowledged) = acknowledgements.next().await {
            acknowledged?;
        }
        Ok(())
    }))
}

/// The data frame of an output signal, checked against the processor's `outputs` outputs.
fn output_frame(
    signal: Result<OutputSignal, tonic::Status>,
    outputs: usize,
) -> Result<OutputFrame, String> {
    let signal = signal.map_err(|status| status_text(&status))?;
    let Some(output_signal::Frame::Data(frame)) = signal.frame else {
        return Err("protocol violation: output signal without a data frame".into());
    };
    let index = frame.result_index;
    if usize::try_from(index).is_ok_and(|index| index < outputs) {
        Ok(frame)
    } else {
        Err(format!(
            "protocol violation: resultIndex {index} but the processor has {outputs} output(s)"
        ))
    }
}

/// The message to publish for an output frame; headers travel along.
fn output_message(frame: OutputFrame) -> Message {
    Message {
        key: None,
        payload: frame.payload,
        content_type: frame.content_type,
        headers: frame.headers.into_iter().collect(),
    }
}

/// Whether `status` says the function could not be reached at all (its process not listening
/// yet, or restarting): no call reached it, so the records are not at fault.
fn unreachable(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{ConnectionRefused, NotFound};
            if matches!(io.kind(), ConnectionRefused | NotFound) {
                return true;
            }
        }
        if error.to_string().contains("tcp connect error") {
            return true;
        }
        source = error.source();
    }
    false
}

/// A gRPC status as an operator reads it.
fn status_text(status: &tonic::Status) -> String {
    format!(
        "function returned {:?}: {}",
        status.code(),
        status.message()
    )
}
