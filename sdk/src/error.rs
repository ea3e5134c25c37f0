//! Errors: those a function sees ([`Error`]), those of starting the server ([`ServeError`]), and
//! the gRPC statuses a failed invocation ends with (docs/riff-compatibility.md §5.5).

use std::fmt;

use tonic::Status;

use crate::content_type::SUPPORTED;

/// Any error a function may return; its text ends up in the call's status message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An error the SDK reports to a function.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The function asked for an input or output the StartFrame did not declare.
    #[error("no {kind} {which}: the StartFrame declared {declared:?}")]
    NoSuchStream {
        /// `input` or `output`.
        kind: &'static str,
        /// The index or name asked for.
        which: String,
        /// The names (empty strings for unnamed streams) of the declared streams.
        declared: Vec<String>,
    },
    /// The function asked twice for the same input or output.
    #[error("{kind} {which} was already taken")]
    AlreadyTaken {
        /// `input` or `output`.
        kind: &'static str,
        /// The index or name asked for.
        which: String,
    },
    /// A request/reply function was invoked with other than one input and one output.
    #[error("a request/reply function needs 1 input and 1 output, the StartFrame declared {inputs} input(s) and {outputs} output(s)")]
    Arity {
        /// Number of declared inputs.
        inputs: usize,
        /// Number of declared outputs.
        outputs: usize,
    },
    /// A value cannot be encoded in the content type negotiated for its output; the call fails.
    #[error("output {output}: cannot encode the value as {content_type}: {reason}")]
    Encode {
        /// The output index.
        output: usize,
        /// The negotiated content type.
        content_type: String,
        /// Why.
        reason: String,
    },
    /// A payload cannot be decoded as the function asked (see [`crate::Payload`]). Returned by
    /// the function, one from an input fails the call with `UNKNOWN` `Invoker: Bad Input Signal`.
    #[error("invalid {content_type} payload: {reason}")]
    Decode {
        /// The index of the input the payload came from, if it came from one.
        input: Option<usize>,
        /// The payload's content type.
        content_type: String,
        /// Why.
        reason: String,
    },
    /// [`crate::Payload::new`] was given a content type this SDK does not support.
    #[error("unsupported content type {0:?}: this SDK supports {SUPPORTED}")]
    UnsupportedContentType(String),
    /// The invocation is over: the caller went away or the call already failed.
    #[error("the invocation is over (the caller went away or the call failed)")]
    Closed,
}

/// Why [`crate::serve`] could not serve.
#[derive(thiserror::Error)]
pub enum ServeError {
    /// Invalid configuration, e.g. a `GRPC_PORT` that is not a port number.
    #[error("{0}")]
    Config(String),
    /// The port could not be bound.
    #[error("cannot listen on port {port}: {source}")]
    Bind {
        /// The port.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// The shutdown signal handlers could not be installed.
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signal(std::io::Error),
    /// The gRPC server failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Shows the message, so that `main` returning `Result<(), ServeError>` prints it readably.
impl fmt::Debug for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `UNKNOWN` `Invoker: Protocol Violation: ...`: the caller broke the frame grammar.
pub(crate) fn protocol_violation(details: impl fmt::Display) -> Status {
    Status::unknown(format!("Invoker: Protocol Violation: {details}"))
}

/// `INVALID_ARGUMENT` `Invoker: Unsupported Media Type: ...`: an input frame's content type.
pub(crate) fn unsupported_media_type(details: impl fmt::Display) -> Status {
    Status::invalid_argument(format!("Invoker: Unsupported Media Type: {details}"))
}

/// `INVALID_ARGUMENT` `Invoker: Not Acceptable: ...`: an output's expected content type.
pub(crate) fn not_acceptable(details: impl fmt::Display) -> Status {
    Status::invalid_argument(format!("Invoker: Not Acceptable: {details}"))
}

/// `UNKNOWN` `Invoker: Bad Input Signal: ...`: an input payload that cannot be decoded.
pub(crate) fn bad_input(details: impl fmt::Display) -> Status {
    Status::unknown(format!("Invoker: Bad Input Signal: {details}"))
}

/// The status of a call whose function returned `error`: `Bad Input Signal` for an input payload
/// it could not decode (`inputs` are the input names), `Function Error` otherwise.
pub(crate) fn failed(error: BoxError, inputs: &[String]) -> Status {
    match error.downcast_ref::<Error>() {
        Some(Error::Decode {
            input: Some(index), ..
        }) => {
            let name = inputs.get(*index).map_or("", String::as_str);
            bad_input(format!("input {index} ({name}): {error}"))
        }
        _ => function_error(error),
    }
}

/// `UNKNOWN` `Invoker: Bad Output Signal: ...`: an output value that cannot be encoded.
pub(crate) fn bad_output(error: &Error) -> Status {
    Status::unknown(format!("Invoker: Bad Output Signal: {error}"))
}

/// `UNKNOWN` `Invoker: Function Error: ...`: the function failed (returned an error or panicked).
pub(crate) fn function_error(details: impl fmt::Display) -> Status {
    Status::unknown(format!("Invoker: Function Error: {details}"))
}
