//! The function model: one invocation (one `Invoke` RPC) runs [`Function::invoke`] once, with the
//! invocation's inputs and outputs. [`streaming`] and [`request_reply`] build functions from
//! closures.

use std::future::Future;

use crate::error::{BoxError, Error};
use crate::{Inputs, Message, Outputs, Payload};

/// A riff function.
///
/// `invoke` runs once per invocation. Its inputs complete when the caller half-closes the call;
/// the call completes successfully when `invoke` returns `Ok` (which completes all outputs), and
/// fails with `UNKNOWN` `Invoker: Function Error: <error>` when it returns `Err` (`Invoker: Bad
/// Input Signal: ...` when the error is the [`Error::Decode`] of an input payload). Nothing is
/// shared between invocations unless the function shares it itself.
pub trait Function: Send + Sync + 'static {
    /// Runs one invocation.
    fn invoke(
        &self,
        inputs: Inputs,
        outputs: Outputs,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// A streaming function made from a closure, see [`streaming`].
#[derive(Debug, Clone)]
pub struct Streaming<F>(F);

/// Makes a streaming function from `function(inputs, outputs)`.
///
/// ```no_run
/// use riff_function::{serve, streaming, BoxError};
///
/// # async fn run() -> Result<(), riff_function::ServeError> {
/// // Forwards every message of input 0 to output 0.
/// serve(streaming(|mut inputs, mut outputs| async move {
///     let mut input = inputs.take(0)?;
///     let output = outputs.take(0)?;
///     while let Some(message) = input.next().await {
///         output.send(message).await?;
///     }
///     Ok::<(), BoxError>(())
/// }))
/// .await
/// # }
/// ```
pub fn streaming<F, Fut, E>(function: F) -> Streaming<F>
where
    F: Fn(Inputs, Outputs) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError>,
{
    Streaming(function)
}

impl<F, Fut, E> Function for Streaming<F>
where
    F: Fn(Inputs, Outputs) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError>,
{
    async fn invoke(&self, inputs: Inputs, outputs: Outputs) -> Result<(), BoxError> {
        (self.0)(inputs, outputs).await.map_err(Into::into)
    }
}

/// A request/reply function promoted to a streaming one, see [`request_reply`].
#[derive(Debug, Clone)]
pub struct RequestReply<F>(F);

/// Promotes a request/reply function to a streaming function with one input and one output
/// (`map` semantics): each input message gives one output message, in order.
///
/// The reply carries the request's headers, so headers survive end to end. An error fails the
/// call as a streaming function's does (`UNKNOWN` `Invoker: Function Error: <error>`, or `Bad
/// Input Signal` for the request's [`Error::Decode`]); replies already sent stay sent. An
/// invocation with other than one input and one output fails as a function error.
///
/// ```no_run
/// use riff_function::{request_reply, serve, BoxError, Payload};
///
/// # async fn run() -> Result<(), riff_function::ServeError> {
/// // Doubles JSON numbers; a request that is not a JSON number fails the call.
/// serve(request_reply(|request: Payload| {
///     let n: f64 = request.json()?;
///     Ok::<_, BoxError>(Payload::to_json(&(2.0 * n))?)
/// }))
/// .await
/// # }
/// ```
pub fn request_reply<F, E>(function: F) -> RequestReply<F>
where
    F: Fn(Payload) -> Result<Payload, E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    RequestReply(function)
}

impl<F, E> Function for RequestReply<F>
where
    F: Fn(Payload) -> Result<Payload, E> + Send + Sync + 'static,
    E: Into<BoxError>,
{
    async fn invoke(&self, mut inputs: Inputs, mut outputs: Outputs) -> Result<(), BoxError> {
        if inputs.len() != 1 || outputs.len() != 1 {
            return Err(Error::Arity {
                inputs: inputs.len(),
                outputs: outputs.len(),
            }
            .into());
        }
        let mut input = inputs.take(0)?;
        let output = outputs.take(0)?;
        while let Some(Message { payload, headers }) = input.next().await {
            let reply = (self.0)(payload).map_err(Into::into)?;
            output
                .send(Message {
                    payload: reply,
                    headers,
                })
                .await?;
        }
        Ok(())
    }
}
