//! One `Invoke` call: checks the StartFrame, negotiates the outputs, routes input frames to the
//! function's inputs while the function runs, and ends the response with the call's outcome
//! (spec 5.3 and 5.5).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use crate::content_type::{self, ContentType, DecodeError, SUPPORTED};
use crate::error;
use crate::streams::Streams;
use crate::{Function, Input, Inputs, Message, Output, Outputs};
use riff_protocol::riff::{input_signal::Frame, InputFrame, InputSignal, OutputSignal, StartFrame};

/// Capacity of every per-invocation channel (each input, and the response): bounded both ways.
pub(crate) const CHANNEL_CAPACITY: usize = 64;

/// Runs one call; its outcome goes into `responses` (an `Err` item fails the call, the channel
/// closing completes it).
pub(crate) async fn run<F: Function>(
    function: Arc<F>,
    mut inbound: Streaming<InputSignal>,
    responses: mpsc::Sender<Result<OutputSignal, Status>>,
) {
    let call = AssertUnwindSafe(invoke(&*function, &mut inbound, responses.clone()))
        .catch_unwind()
        .map(|outcome| outcome.unwrap_or_else(|panic| Err(panicked(&*panic))));
    let outcome = tokio::select! {
        outcome = call => outcome,
        () = responses.closed() => return, // the caller went away
    };
    if let Err(status) = outcome {
        let _ = responses.send(Err(status)).await;
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
    responses: mpsc::Sender<Result<OutputSignal, Status>>,
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
    let dispatch = dispatch(inbound, senders, input_names);
    tokio::pin!(function_run, dispatch);
    tokio::select! {
        dispatched = &mut dispatch => dispatched?,
        returned = &mut function_run => return returned.map_err(error::function_error),
    }
    function_run.await.map_err(error::function_error)
}

/// The function's inputs (one per input name; one unnamed input if the StartFrame names none)
/// and the senders feeding them.
fn inputs(start: &StartFrame) -> (Inputs, Vec<mpsc::Sender<Message>>) {
    let names = match start.input_names.is_empty() {
        true => vec![String::new()],
        false => start.input_names.clone(),
    };
    let (senders, inputs) = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
            (sender, Input::new(index, name.clone(), receiver))
        })
        .unzip();
    (Streams::new("input", names, inputs), senders)
}

/// The function's outputs, one per expected content type, each with its negotiated type.
fn outputs(
    start: StartFrame,
    responses: mpsc::Sender<Result<OutputSignal, Status>>,
) -> Result<Outputs, Status> {
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
            let content_type = ContentType::negotiate(accept).ok_or_else(|| {
                error::not_acceptable(format!(
                    "output {index} ({name}) expects {accept:?}, this function produces {SUPPORTED}"
                ))
            })?;
            Ok(Output::new(
                index,
                name.clone(),
                content_type,
                responses.clone(),
            ))
        })
        .collect::<Result<_, Status>>()?;
    Ok(Streams::new("output", names, outputs))
}

/// Routes the input frames to the function's inputs until the caller half-closes the call.
async fn dispatch(
    inbound: &mut Streaming<InputSignal>,
    senders: Vec<mpsc::Sender<Message>>,
    names: Vec<String>,
) -> Result<(), Status> {
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
        let name = &names[index];
        let payload = content_type::decode(&content_type, payload).map_err(|error| match error {
            DecodeError::Unsupported => error::unsupported_media_type(format!(
                "input {index} ({name}) has content type {content_type:?}, this function accepts {SUPPORTED}"
            )),
            DecodeError::Invalid(reason) => error::bad_input(format!(
                "input {index} ({name}): invalid {content_type} payload: {reason}"
            )),
        })?;
        // An input the function dropped discards its frames.
        let _ = senders[index].send(Message { payload, headers }).await;
    }
    Ok(())
}
