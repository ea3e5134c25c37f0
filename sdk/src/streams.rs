//! A function's inputs and outputs for one invocation.

use std::fmt;

use tonic::Status;

use crate::content_type::ContentType;
use crate::error::{self, Error};
use crate::queue::{Receiver, Sender};
use crate::{Format, Message};
use riff_protocol::riff::{output_signal, OutputFrame, OutputSignal};

/// The input or output streams of one invocation, in StartFrame order; the function takes the
/// ones it uses, by index or by name.
#[derive(Debug)]
pub struct Streams<T> {
    kind: &'static str,
    names: Vec<String>,
    streams: Vec<Option<T>>,
}

/// The input streams of an invocation: one per StartFrame `inputNames` entry (a single unnamed
/// one if the StartFrame has no input names).
///
/// Inputs are bounded: an input that is kept but not read eventually holds up all inputs of the
/// call (back-pressure). Frames of inputs that were dropped (or whose `Inputs` was dropped) are
/// discarded.
pub type Inputs = Streams<Input>;

/// The output streams of an invocation: one per StartFrame `expectedContentTypes` entry.
pub type Outputs = Streams<Output>;

impl<T> Streams<T> {
    pub(crate) fn new(kind: &'static str, names: Vec<String>, streams: Vec<T>) -> Self {
        Streams {
            kind,
            names,
            streams: streams.into_iter().map(Some).collect(),
        }
    }

    /// How many streams the StartFrame declared.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether the StartFrame declared none.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The stream names from the StartFrame (empty strings if it sent none).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Takes stream number `index`.
    pub fn take(&mut self, index: usize) -> Result<T, Error> {
        let kind = self.kind;
        match self.streams.get_mut(index) {
            None => Err(Error::NoSuchStream {
                kind,
                which: index.to_string(),
                declared: self.names.clone(),
            }),
            Some(slot) => slot.take().ok_or(Error::AlreadyTaken {
                kind,
                which: index.to_string(),
            }),
        }
    }

    /// Takes the stream named `name` in the StartFrame.
    pub fn take_named(&mut self, name: &str) -> Result<T, Error> {
        match self.names.iter().position(|candidate| candidate == name) {
            Some(index) => self.take(index),
            None => Err(Error::NoSuchStream {
                kind: self.kind,
                which: format!("{name:?}"),
                declared: self.names.clone(),
            }),
        }
    }
}

/// One input stream: the messages of its frames (same `argIndex`) in arrival order, each
/// payload as received (decoded when the function asks, see [`crate::Payload`]). It ends when
/// the caller half-closes the call.
pub struct Input {
    index: usize,
    name: String,
    messages: Receiver<Message>,
}

impl Input {
    pub(crate) fn new(index: usize, name: String, messages: Receiver<Message>) -> Self {
        Input {
            index,
            name,
            messages,
        }
    }

    /// The index (`argIndex`) of this input.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The name of this input from the StartFrame (empty if unnamed).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next message, or `None` once the input completed. Cancel safe, so it can be used in
    /// `tokio::select!`.
    pub async fn next(&mut self) -> Option<Message> {
        self.messages.recv().await
    }
}

/// One output stream: values sent here become OutputFrames with this output's `resultIndex`,
/// in the order sent, in the content type negotiated from the StartFrame's
/// `expectedContentTypes` entry. The output completes when the function returns.
#[derive(Clone)]
pub struct Output {
    index: usize,
    name: String,
    format: Format,
    content_type: String,
    frames: Sender<Result<OutputSignal, Status>>,
}

impl Output {
    pub(crate) fn new(
        index: usize,
        name: String,
        (content_type, format): (ContentType, Format),
        frames: Sender<Result<OutputSignal, Status>>,
    ) -> Self {
        Output {
            index,
            name,
            format,
            content_type: content_type.to_string(),
            frames,
        }
    }

    /// The index (`resultIndex`) of this output.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The name of this output from the StartFrame (empty if unnamed).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The negotiated content type, as put in every OutputFrame of this output.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Sends a message (payload and headers). Waits while the caller is not reading
    /// (back-pressure).
    ///
    /// A payload of the negotiated format is sent byte for byte (not validated). Otherwise it
    /// is converted: JSON and text go to `application/octet-stream` as they are, JSON goes to
    /// text as its JSON text, text goes to JSON as a JSON string, raw bytes go to text if they
    /// are UTF-8 and to JSON if they are a JSON document. A payload that cannot be converted
    /// fails the call with `UNKNOWN` `Invoker: Bad Output Signal: ...` and returns
    /// [`Error::Encode`]; [`Error::Closed`] means the call is over.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        let Message { payload, headers } = message.into();
        let frame = match payload.convert(self.format) {
            Ok((payload, content_type)) => Ok(OutputSignal {
                frame: Some(output_signal::Frame::Data(OutputFrame {
                    payload,
                    content_type: match content_type == self.content_type {
                        true => content_type.into_owned(),
                        false => self.content_type.clone(),
                    },
                    headers,
                    result_index: self.index as i32,
                })),
            }),
            Err(reason) => Err(Error::Encode {
                output: self.index,
                content_type: self.content_type.clone(),
                reason,
            }),
        };
        match frame {
            Ok(frame) => self.frames.send(Ok(frame)).await.map_err(|_| Error::Closed),
            Err(error) => {
                // Fails the call even if the function ignores the error.
                let _ = self.frames.send(Err(error::bad_output(&error))).await;
                Err(error)
            }
        }
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("index", &self.index)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}
