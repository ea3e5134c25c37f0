//! Messages exchanged by the actors of one processor pipeline.

use actix::Message as ActixMessage;
use futures::future::BoxFuture;
use tokio::sync::oneshot;

use super::ack::AckHandle;
use riff_protocol::riff::InputFrame;

use crate::message::Record;

/// Identifies one window of a pipeline (monotonic from 0).
pub type WindowId = u64;

/// Records read from input `input`, in order, each with the handle that commits its position.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Inbound {
    /// Position of the input in the processor's inputs (the frames' argIndex).
    pub input: usize,
    /// The records as read from the broker; each handle is acknowledged when the window holding
    /// its record completed, and holds the record's capacity.
    pub records: Vec<(Record, AckHandle)>,
}

/// Failed attempts stored by earlier runs for records of input `input` that are about to be
/// read: `(partition, offset, attempts)`; the window holding such a record starts its count there.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct PriorAttempts {
    /// Position of the input in the processor's inputs.
    pub input: usize,
    /// The records' partitions and offsets, and their windows' failed attempts.
    pub records: Vec<(u32, u64, u32)>,
}

/// The group assigned (`assigned`) or revoked partitions of input `input`: event-time windows
/// wait for an assigned partition's records (until its idle timeout) and forget revoked ones.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Partitions {
    /// Position of the input in the processor's inputs.
    pub input: usize,
    pub partitions: Vec<u32>,
    pub assigned: bool,
}

/// Open a new invocation for a window (a retry opens a new one for the same window).
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct StartCall {
    /// The window the invocation is for.
    pub window: WindowId,
    /// Which call of the window this is (its reports carry it).
    pub attempt: u64,
    /// The frames of the records the window holds so far.
    pub frames: Vec<InputFrame>,
    /// The window is closed: the call's input ends after `frames`.
    pub closed: bool,
}

/// Abandon every call in progress: an earlier window failed, and later windows' outputs must
/// follow its outputs.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Abandon;

/// Send input frames to the window's invocation, in order.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct SendFrames {
    /// The window the frames belong to.
    pub window: WindowId,
    /// The frames.
    pub frames: Vec<InputFrame>,
}

/// Half-close the window's invocation: the window has ended.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct HalfClose {
    /// The window that ended.
    pub window: WindowId,
}

/// Resolves once every output of a call was acknowledged by the broker, or with why not.
pub type Acknowledged = BoxFuture<'static, Result<(), CallFailure>>;

/// Why a call failed, and whether the failure counts as one of the window's attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// What went wrong, as an operator reads it.
    pub reason: String,
    /// False when the records cannot be at fault: the function could not be reached (not
    /// started yet, restarting) or the broker refused the outputs. Such failures are retried
    /// without counting against `delivery.maxAttempts`.
    pub counted: bool,
    /// The call ran past `delivery.timeout` (counted).
    pub timed_out: bool,
}

impl CallFailure {
    /// A failure of the function's answer: counted as an attempt.
    pub fn function(reason: impl Into<String>) -> Self {
        CallFailure {
            reason: reason.into(),
            counted: true,
            timed_out: false,
        }
    }

    /// A call that ran past its timeout: counted as an attempt.
    pub fn timeout(reason: impl Into<String>) -> Self {
        CallFailure {
            timed_out: true,
            ..CallFailure::function(reason)
        }
    }

    /// A failure of the function's reachability or of the broker: not counted.
    pub fn infrastructure(reason: impl Into<String>) -> Self {
        CallFailure {
            reason: reason.into(),
            counted: false,
            timed_out: false,
        }
    }
}

/// The outcome of one invocation of a window.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct CallEnded {
    /// The window the invocation was for.
    pub window: WindowId,
    /// Which call of the window it was.
    pub attempt: u64,
    /// Ok once riff sent the whole window, the function then completed and every output was
    /// handed to the broker (in order, after every earlier window's): the outputs'
    /// acknowledgement. The failure otherwise.
    pub outcome: Result<Acknowledged, CallFailure>,
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
