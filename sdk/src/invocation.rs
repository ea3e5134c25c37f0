//! One `Invoke` call: checks the StartFrame, negotiates the outputs, routes input frames to the
//! function's inputs while the function runs, and ends the response with the call's outcome
//! (docs/riff-compatibility.md §5.3 and §5.5).
//!
//! The call runs inside its response stream: polling the response polls the invocation (the
//! dispatch of input frames and the function), then yields the frames the outputs queued. One
//! task does everything, and frames pass from input to function to response without a task
//! switch or a wakeup.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{FutureExt, Stream};
use tonic::{Status, Streaming};

use crate::content_type::{ContentType, SUPPORTED};
use crate::error;
use crate::queue::{queue, Receiver, Sender};
use crate::streams::Streams;
use crate::{Format, Function, Input, Inputs, Message, Output, Outputs, Payload};
use riff_protocol::riff::{input_signal::Frame, InputFrame, InputSignal, OutputSignal, StartFrame};

/// Capacity of every per-invocation queue (each input, and the response): bounded both ways.
const CAPACITY: usize = 64;

/// A response item: an output frame, or the status that fails the call.
type Response = Result<OutputSignal, Status>;

/// A running invocation: its outcome is `Err` with the status that fails the call.
type Run = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// The response of one call, which runs the call as it is polled.
pub(crate) struct Call {
    /// The invocation, until it returns.
    run: Option<Run>,
    /// The frames the outputs sent, not yet yielded.
    frames: Receiver<Response>,
    /// The status to end with once the frames are yielded, if the call failed.
    failure: Option<Status>,
    /// Whether the response ended (with a failure).
    ended: bool,
}

impl Call {
    /// The response of a call of `function` reading `inbound`.
    pub(crate) fn new<F: Function>(function: Arc<F>, mut inbound: Streaming<InputSignal>) -> Self {
        let (responses, frames) = queue(CAPACITY);
        let run = async move {
            AssertUnwindSafe(invoke(&*function, &mut inbound, responses))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(panicked(&*panic)))
        };
        Call {
            run: Some(Box::pin(run)),
            frames,
            failure: None,
            ended: false,
        }
    }
}

impl Stream for Call {
    type Item = Response;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        let call = &mut *self;
        loop {
            if call.ended {
                return Poll::Ready(None);
            }
            if let Some(frame) = call.frames.try_recv() {
                if frame.is_err() {
                    call.end();
                }
                return Poll::Ready(Some(frame));
            }
            let Some(run) = call.run.as_mut() else {
                call.end();
                return Poll::Ready(call.failure.take().map(Err));
            };
            if let Poll::Ready(outcome) = run.as_mut().poll(cx) {
                call.run = None;
                call.failure = outcome.err();
                continue; // yields the frames sent before the end
            }
            // The invocation waits: for its own wakers, or for a frame sent from another task.
            return match call.frames.poll_recv(cx) {
                Poll::Ready(Some(frame)) => Poll::Ready(Some(frame)),
                _ => Poll::Pending,
            };
        }
    }
}

impl Call {
    /// Ends the response: the invocation is dropped (if still running) and nothing else is
    /// yielded.
    fn end(&mut self) {
        self.run = None;
        self.ended = true;
    }
}

/// The status of a call whose function panicked.
fn panicked(panic: &(dyn std::any::Any + Send)) -> Status {
    let message = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => message,
        (_, Some(message)) => message.as_str(),
        _ => "?",
    };
    error::function_error(format!("the function panicked: {message}"))
}

/// Runs the function against the call's frames; `Err` is the status that fails the call.
async fn invoke<F: Function>(
    function: &F,
    inbound: &mut Streaming<InputSignal>,
    responses: Sender<Response>,
) -> Result<(), Status> {
    let start = match inbound.message().await? {
        Some(InputSignal {
            frame: Some(Frame::Start(start)),
        }) => start,
        Some(_) => {
            return Err(error::protocol_violation(
                "the first frame must be a StartFrame",
            ))
        }
        None => {
            return Err(error::protocol_violation(
                "the input completed before a StartFrame",
            ))
        }
    };
    let (inputs, senders) = inputs(&start);
    let outputs = outputs(start, responses)?;
    let input_names = inputs.names().to_vec();
    let function_run = function.invoke(inputs, outputs);
    // `dispatch` owns the senders: when it returns, the function's inputs complete.
    let dispatch = dispatch(inbound, senders, &input_names);
    tokio::pin!(function_run, dispatch);
    let failed = |error| error::failed(error, &input_names);
    tokio::select! {
        biased; // frames are dispatched, then the function takes them
        dispatched = &mut dispatch => dispatched?,
        returned = &mut function_run => return returned.map_err(failed),
    }
    function_run.await.map_err(failed)
}

/// The function's inputs (one per input name; one unnamed input if the StartFrame names none)
/// and the senders feeding them.
fn inputs(start: &StartFrame) -> (Inputs, Vec<Sender<Message>>) {
    let names = match start.input_names.is_empty() {
        true => vec![String::new()],
        false => start.input_names.clone(),
    };
    let (senders, inputs) = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let (sender, receiver) = queue(CAPACITY);
            (sender, Input::new(index, name.clone(), receiver))
        })
        .unzip();
    (Streams::new("input", names, inputs), senders)
}

/// The function's outputs, one per expected content type, each with its negotiated type.
fn outputs(start: StartFrame, responses: Sender<Response>) -> Result<Outputs, Status> {
    let StartFrame {
        expected_content_types: expected,
        output_names: mut names,
        ..
    } = start;
    if names.is_empty() {
        names = vec![String::new(); expected.len()];
    } else if names.len() != expected.len() {
        return Err(error::protocol_violation(format!(
            "the StartFrame has {} expectedContentTypes but {} outputNames",
            expected.len(),
            names.len()
        )));
    }
    let outputs = expected
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(index, (accept, name))| {
            let negotiated = ContentType::negotiate(accept).ok_or_else(|| {
                error::not_acceptable(format!(
                    "output {index} ({name}) expects {accept:?}, this function produces {SUPPORTED}"
                ))
            })?;
            Ok(Output::new(
                index,
                name.clone(),
                negotiated,
                responses.clone(),
            ))
        })
        .collect::<Result<_, Status>>()?;
    Ok(Streams::new("output", names, outputs))
}

/// Routes the input frames to the function's inputs until the caller half-closes the call.
/// Payloads are not decoded; only their content types are checked.
async fn dispatch(
    inbound: &mut Streaming<InputSignal>,
    senders: Vec<Sender<Message>>,
    names: &[String],
) -> Result<(), Status> {
    // The last content type seen and its format: frames of a call mostly share one.
    let mut known: Option<(String, Format)> = None;
    while let Some(signal) = inbound.message().await? {
        let frame = match signal.frame {
            Some(Frame::Data(frame)) => frame,
            Some(Frame::Start(_)) => {
                return Err(error::protocol_violation(
                    "a second StartFrame was received",
                ))
            }
            None => return Err(error::protocol_violation("an InputSignal without a frame")),
        };
        let InputFrame {
            payload,
            content_type,
            headers,
            arg_index,
        } = frame;
        let index = usize::try_from(arg_index)
            .ok()
            .filter(|&index| index < senders.len())
            .ok_or_else(|| {
                error::protocol_violation(format!(
                    "argIndex {arg_index} is out of range, the StartFrame declared {} input(s)",
                    senders.len()
                ))
            })?;
        let format = match &known {
            Some((seen, format)) if *seen == content_type => *format,
            _ => {
                let format = Format::of(&content_type).ok_or_else(|| {
                    error::unsupported_media_type(format!(
                        "input {index} ({}) has content type {content_type:?}, this function accepts {SUPPORTED}",
                        names[index]
                    ))
                })?;
                known = Some((content_type.clone(), format));
                format
            }
        };
        let payload = Payload::received(content_type, format, payload, index);
        // An input the function dropped discards its frames.
        let _ = senders[index].send(Message { payload, headers }).await;
    }
    Ok(())
}
