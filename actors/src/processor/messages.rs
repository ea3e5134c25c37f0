//! Messages exchanged by the actors of one processor pipeline.

use actix::Message as ActixMessage;
use tokio::sync::oneshot;

use super::ack::AckHandle;
use crate::message::{Message, Record};

/// Identifies one window of a pipeline (monotonic from 0).
pub type WindowId = u64;

/// A record read from input `input`, with the handle that commits its position.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Inbound {
    /// Position of the input in the processor's inputs (the frame's argIndex).
    pub input: usize,
    /// The record as read from the broker.
    pub record: Record,
    /// Acknowledged when the window holding the record completed; holds its capacity.
    pub ack: AckHandle,
}

/// Open a new invocation for a window (a retry opens a new one for the same window).
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct StartCall {
    /// The window the invocation is for.
    pub window: WindowId,
}

/// Send one input frame to the window's invocation.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct SendFrame {
    /// The window the frame belongs to.
    pub window: WindowId,
    /// Position of the input the frame comes from.
    pub input: usize,
    /// The message to send.
    pub message: Message,
}

/// Half-close the window's invocation: the window has ended.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct HalfClose {
    /// The window that ended.
    pub window: WindowId,
}

/// The outcome of one invocation of a window.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct CallEnded {
    /// The window the invocation was for.
    pub window: WindowId,
    /// Ok once riff sent the whole window, the function then completed, and every output was
    /// accepted; the failure otherwise.
    pub outcome: Result<(), String>,
}

/// A pipeline actor failed in a way only a restart of the pipeline can mend.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct PipelineFailed {
    /// Which actor failed.
    pub actor: &'static str,
    /// Why.
    pub reason: String,
}

/// Stop reading inputs, close the open window and report once every window is completed and
/// its positions committed.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Drain(pub oneshot::Sender<()>);

/// An input actor's group assigned it its partitions, from positions that are pinned: records
/// published from now on will be read.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Subscribed;

/// Resolves once every input of the processor is reading.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct WhenSubscribed(pub oneshot::Sender<()>);

/// Stop reading new input; commits are still applied.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct PauseReading;

/// Stop the actor now.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Stop;
