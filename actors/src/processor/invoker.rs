//! InvokerActor: one `streaming.Riff/Invoke` call per window attempt, results routed to outputs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use actix::prelude::*;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use riff_protocol::riff::{
    input_signal, output_signal, riff_client::RiffClient, InputFrame, InputSignal, OutputFrame,
    StartFrame,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::messages::{CallEnded, HalfClose, SendFrame, StartCall, Stop, WindowId};
use super::OutputBinding;
use crate::message::Message;

/// Frames buffered between the pipeline and the gRPC call.
const CALL_BUFFER: usize = 256;

/// Why a call that completed before its window's input ended fails: riff cannot know which
/// records the function read, so none of the window is committed and the window is retried.
const ENDED_EARLY: &str =
    "protocol violation: the function completed the call before riff closed its input";

/// The invocation in progress.
struct Call {
    window: WindowId,
    frames: mpsc::Sender<InputSignal>,
}

/// Talks to the function: opens a call per window attempt, streams the window's frames into it,
/// publishes each output frame to the output named by its `resultIndex`, and reports the outcome.
pub struct InvokerActor {
    client: RiffClient<Channel>,
    start: StartFrame,
    outputs: Vec<OutputBinding>,
    report: Recipient<CallEnded>,
    call: Option<Call>,
    running: Option<JoinHandle<()>>,
}

impl InvokerActor {
    /// An invoker calling the function at `channel`; `start` is sent first on every call.
    pub fn new(
        channel: Channel,
        start: StartFrame,
        outputs: Vec<OutputBinding>,
        report: Recipient<CallEnded>,
    ) -> Self {
        InvokerActor {
            client: RiffClient::new(channel),
            start,
            outputs,
            report,
            call: None,
            running: None,
        }
    }

    /// The open call of `window`, if any.
    fn call_of(&self, window: WindowId) -> Option<&Call> {
        self.call.as_ref().filter(|call| call.window == window)
    }
}

impl Actor for InvokerActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(running) = self.running.take() {
            running.abort();
        }
    }
}

impl Handler<StartCall> for InvokerActor {
    type Result = ();

    fn handle(&mut self, StartCall { window }: StartCall, _: &mut Context<Self>) {
        let (frames, requests) = mpsc::channel(CALL_BUFFER);
        let start = InputSignal {
            frame: Some(input_signal::Frame::Start(self.start.clone())),
        };
        frames
            .try_send(start)
            .expect("a new channel has room for the start frame");
        self.call = Some(Call { window, frames });
        // Set once gRPC took the end of the input: every frame of the window was handed over.
        let input_ended = Arc::new(AtomicBool::new(false));
        let ended = input_ended.clone();
        let requests = ReceiverStream::new(requests).chain(futures::stream::poll_fn(move |_| {
            ended.store(true, Ordering::SeqCst);
            Poll::Ready(None)
        }));
        let call = invoke(self.client.clone(), requests, self.outputs.clone());
        let report = self.report.clone();
        // Polled outside this actor's context so that outputs keep flowing while a SendFrame
        // waits for room in the call: the function may block its input on its output.
        self.running = Some(actix::spawn(async move {
            let outcome = call.await.and_then(|()| {
                if input_ended.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err(ENDED_EARLY.to_owned())
                }
            });
            report.do_send(CallEnded { window, outcome });
        }));
    }
}

impl Handler<SendFrame> for InvokerActor {
    type Result = ();

    fn handle(&mut self, frame: SendFrame, ctx: &mut Context<Self>) {
        let Some(call) = self.call_of(frame.window) else {
            return; // the call already ended; the window will be retried or was completed
        };
        let sender = call.frames.clone();
        let signal = InputSignal {
            frame: Some(input_signal::Frame::Data(input_frame(
                frame.input,
                frame.message,
            ))),
        };
        // Waits while the function is slower than the input: back-pressure.
        ctx.wait(
            async move {
                // A call that ended takes no more frames; its outcome is reported anyway.
                _ = sender.send(signal).await;
            }
            .into_actor(self),
        );
    }
}

impl Handler<HalfClose> for InvokerActor {
    type Result = ();

    fn handle(&mut self, HalfClose { window }: HalfClose, _: &mut Context<Self>) {
        if self.call_of(window).is_some() {
            self.call = None; // dropping the sender half-closes the request stream
        }
    }
}

impl Handler<Stop> for InvokerActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// The frame for `message` read from input number `input`: its riff headers travel along.
fn input_frame(input: usize, message: Message) -> InputFrame {
    InputFrame {
        headers: message
            .riff_headers()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        payload: message.payload,
        content_type: message.content_type,
        arg_index: input as i32,
    }
}

/// Acknowledgements a call may wait for at once before it reads the next output frame.
const UNACKNOWLEDGED: usize = 4096;

/// Runs one call to completion. Each output frame is published to the output named by its
/// `resultIndex` as it arrives (in order, without waiting for the previous one); the call
/// succeeds once the function completed and the broker acknowledged every output.
async fn invoke(
    mut client: RiffClient<Channel>,
    requests: impl futures::Stream<Item = InputSignal> + Send + 'static,
    outputs: Vec<OutputBinding>,
) -> Result<(), String> {
    let mut responses = client
        .invoke(requests)
        .await
        .map_err(|status| describe(&status))?
        .into_inner();
    let mut acknowledgements = FuturesUnordered::new();
    while let Some(signal) = responses.next().await {
        let signal = signal.map_err(|status| describe(&status))?;
        let Some(output_signal::Frame::Data(frame)) = signal.frame else {
            return Err("protocol violation: output signal without a data frame".into());
        };
        let index = frame.result_index;
        let output = usize::try_from(index)
            .ok()
            .and_then(|index| outputs.get(index))
            .ok_or_else(|| {
                format!(
                    "protocol violation: resultIndex {index} but the processor has {} output(s)",
                    outputs.len()
                )
            })?;
        let published = output.broker.publish(&output.topic, output_message(frame));
        acknowledgements.push(published.map(move |ack| {
            ack.map_err(|error| format!("publishing to output {index} failed: {error}"))
        }));
        if acknowledgements.len() >= UNACKNOWLEDGED {
            acknowledgements.next().await.transpose()?;
        }
    }
    while acknowledgements.next().await.transpose()?.is_some() {}
    Ok(())
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

/// A gRPC status as an operator reads it.
fn describe(status: &tonic::Status) -> String {
    format!(
        "function returned {:?}: {}",
        status.code(),
        status.message()
    )
}
