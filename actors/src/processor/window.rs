//! WindowActor: cuts the merged inputs into tumbling windows and drives one invocation per
//! window, acknowledging a window's records (committing their positions) only after it
//! completed, in window order.

use std::collections::VecDeque;
use std::sync::Arc;

use actix::prelude::*;
use riff_protocol::riff::InputFrame;
use tokio::sync::oneshot;

use super::ack::{AckHandle, Commits};
use super::invoker::{input_frame, InvokerActor};
use super::messages::{
    Abandon, CallEnded, Drain, HalfClose, Inbound, SendFrames, StartCall, Stop, WindowId,
};
use super::CALLS_IN_FLIGHT;
use crate::message::Record;
use crate::resources::ResolvedWindow;
use crate::supervision::{self, Backoff};

/// One input record held by a window until the window is committed.
struct Held {
    input: usize,
    record: Record,
    ack: AckHandle,
}

/// Where a window is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not called yet, or its last call failed: called in its turn.
    Waiting,
    /// A call is in progress.
    Calling,
    /// Its call completed; its outputs are being acknowledged.
    Acknowledging,
    /// Its outputs were acknowledged: committed once every earlier window is.
    Done,
}

/// A window of input records, invoked as one call.
struct Window {
    id: WindowId,
    held: Vec<Held>,
    /// The payload bytes its records hold of the pipeline's capacity.
    units: u64,
    /// No more records join this window.
    closed: bool,
    stage: Stage,
    /// Counts the window's calls: reports of an earlier call are stale.
    attempt: u64,
    /// Closes the window when its duration elapses.
    timer: Option<SpawnHandle>,
}

/// Windows are invoked in order, several at a time: later windows are called while earlier
/// ones complete, and their outputs are published after every output of the earlier ones. A
/// window's records are committed once its call succeeded and its outputs were acknowledged,
/// and only after every earlier window's. A failed call (or output) is retried with
/// exponential backoff, with every later window: nothing of them is committed meanwhile.
pub struct WindowActor {
    resource: String,
    bounds: ResolvedWindow,
    /// A window closes once its records hold this many payload bytes.
    max_units: u64,
    invoker: Addr<InvokerActor>,
    windows: VecDeque<Window>,
    /// Where the records seen so far are committed: flushed before a drain is reported.
    commits: Vec<Arc<Commits>>,
    next_id: WindowId,
    /// The first window whose call has not started: calls start in window order.
    next_call: WindowId,
    /// Windows whose call is in progress.
    calling: usize,
    /// How many records the last window held: room reserved for the next.
    last_size: usize,
    backoff: Backoff,
    drained: Vec<oneshot::Sender<()>>,
    draining: bool,
    retry_pending: bool,
}

impl WindowActor {
    /// A window actor invoking through `invoker`.
    pub fn new(
        resource: String,
        bounds: ResolvedWindow,
        max_units: u64,
        invoker: Addr<InvokerActor>,
    ) -> Self {
        WindowActor {
            resource,
            bounds,
            max_units,
            invoker,
            windows: VecDeque::new(),
            commits: Vec::new(),
            next_id: 0,
            next_call: 0,
            calling: 0,
            last_size: 0,
            backoff: Backoff::default(),
            drained: Vec::new(),
            draining: false,
            retry_pending: false,
        }
    }

    /// The window accepting new records, opening one if needed.
    fn open_window(&mut self, ctx: &mut Context<Self>) -> WindowId {
        if let Some(window) = self.windows.back().filter(|window| !window.closed) {
            return window.id;
        }
        let id = self.next_id;
        self.next_id += 1;
        let timer = self
            .bounds
            .duration
            .map(|duration| ctx.run_later(duration, move |actor, ctx| actor.close(id, ctx)));
        self.windows.push_back(Window {
            id,
            held: Vec::with_capacity(self.last_size),
            units: 0,
            closed: false,
            stage: Stage::Waiting,
            attempt: 0,
            timer,
        });
        id
    }

    /// Window `id`, if it is still held (windows hold consecutive ids).
    fn window_mut(&mut self, id: WindowId) -> Option<&mut Window> {
        let front = self.windows.front()?.id;
        let index = usize::try_from(id.checked_sub(front)?).ok()?;
        self.windows.get_mut(index)
    }

    /// Ends window `id`: no more records join it, and its call is half-closed.
    fn close(&mut self, id: WindowId, ctx: &mut Context<Self>) {
        let Some(window) = self.window_mut(id) else {
            return;
        };
        if window.closed {
            return;
        }
        window.closed = true;
        let size = window.held.len();
        if let Some(timer) = window.timer.take() {
            ctx.cancel_future(timer);
        }
        if window.stage == Stage::Calling {
            self.invoker.do_send(HalfClose { window: id });
        }
        self.last_size = size;
        self.settle();
    }

    /// Commits the done windows at the front, then starts the calls of the windows whose turn
    /// came.
    fn settle(&mut self) {
        while let Some(front) = self.windows.pop_front() {
            if front.stage != Stage::Done {
                self.windows.push_front(front);
                break;
            }
            AckHandle::ack_all(front.held.into_iter().map(|held| held.ack));
        }
        if self.windows.is_empty() && self.draining && !self.drained.is_empty() {
            // Reported once the completed windows' positions are committed.
            let (commits, drained) = (self.commits.clone(), std::mem::take(&mut self.drained));
            actix::spawn(async move {
                for commits in commits {
                    commits.flushed().await;
                }
                drained.into_iter().for_each(|done| _ = done.send(()));
            });
        }
        if !self.retry_pending {
            self.start_calls();
        }
    }

    /// Opens calls for the waiting windows, in order, up to [`CALLS_IN_FLIGHT`], replaying
    /// everything each holds so far.
    fn start_calls(&mut self) {
        while self.calling < CALLS_IN_FLIGHT {
            let id = self.next_call;
            let Some(window) = self.window_mut(id) else {
                return;
            };
            window.stage = Stage::Calling;
            window.attempt += 1;
            let attempt = window.attempt;
            let frames = window
                .held
                .iter()
                .map(|held| input_frame(held.input, &held.record.message))
                .collect();
            let closed = window.closed;
            self.invoker.do_send(StartCall {
                window: id,
                attempt,
                frames,
                closed,
            });
            self.calling += 1;
            self.next_call += 1;
        }
    }

    /// Window `id`'s call failed, or its outputs did: it is retried after a backoff, with every
    /// later window (whose calls are abandoned: their outputs must follow its outputs).
    fn failed(&mut self, id: WindowId, reason: &str, ctx: &mut Context<Self>) {
        let delay = self.backoff.next_delay();
        supervision::failed(
            &self.resource,
            "invoker",
            &reason,
            self.backoff.attempt(),
            delay,
        );
        self.invoker.do_send(Abandon);
        let front = self.windows.front().map_or(id, |window| window.id);
        let mut calling = 0;
        for window in self.windows.range_mut((id - front) as usize..) {
            calling += usize::from(window.stage == Stage::Calling);
            window.stage = Stage::Waiting;
        }
        self.calling -= calling;
        self.next_call = id;
        self.retry_pending = true;
        ctx.run_later(delay, |actor, _| {
            actor.retry_pending = false;
            actor.settle();
        });
    }

    /// The stage of window `id` if a report about `attempt` is current.
    fn current(&mut self, id: WindowId, attempt: u64, stage: Stage) -> Option<&mut Window> {
        self.window_mut(id)
            .filter(|window| window.attempt == attempt && window.stage == stage)
    }

    /// Sends `frames` to the call of window `id` (if any).
    fn send_frames(&mut self, id: WindowId, frames: &mut Vec<InputFrame>) {
        if !frames.is_empty() {
            let frames = std::mem::take(frames);
            self.invoker.do_send(SendFrames { window: id, frames });
        }
    }
}

impl Actor for WindowActor {
    type Context = Context<Self>;
}

impl Handler<Inbound> for WindowActor {
    type Result = ();

    fn handle(&mut self, Inbound { input, records }: Inbound, ctx: &mut Context<Self>) {
        // Frames for the call of the window being filled, sent before the window closes.
        let mut frames = Vec::new();
        for (record, ack) in records {
            let id = self.open_window(ctx);
            let window = self.windows.back_mut().expect("an open window");
            if window.stage == Stage::Calling {
                frames.push(input_frame(input, &record.message));
            }
            window.units += ack.units();
            let commits = ack.commits();
            if !self.commits.iter().any(|seen| Arc::ptr_eq(seen, commits)) {
                self.commits.push(Arc::clone(commits));
            }
            window.held.push(Held { input, record, ack });
            let full = window.units >= self.max_units
                || self
                    .bounds
                    .count
                    .is_some_and(|count| window.held.len() as u64 >= count);
            if full || self.draining {
                self.send_frames(id, &mut frames);
                self.close(id, ctx);
            }
        }
        if let Some(window) = self.windows.back().filter(|window| !window.closed) {
            self.send_frames(window.id, &mut frames);
        }
        self.settle();
    }
}

impl Handler<CallEnded> for WindowActor {
    type Result = ();

    fn handle(&mut self, ended: CallEnded, ctx: &mut Context<Self>) {
        let CallEnded {
            window: id,
            attempt,
            outcome,
        } = ended;
        let Some(window) = self.current(id, attempt, Stage::Calling) else {
            return; // a stale report
        };
        match outcome {
            Ok(acknowledged) => {
                window.stage = Stage::Acknowledging;
                self.calling -= 1;
                ctx.spawn(
                    acknowledged
                        .into_actor(self)
                        .map(move |outcome, actor, ctx| {
                            let Some(window) = actor.current(id, attempt, Stage::Acknowledging)
                            else {
                                return;
                            };
                            match outcome {
                                Ok(()) => {
                                    window.stage = Stage::Done;
                                    actor.backoff.reset();
                                    actor.settle();
                                }
                                Err(reason) => actor.failed(id, &reason, ctx),
                            }
                        }),
                );
                self.settle();
            }
            Err(reason) => self.failed(id, &reason, ctx),
        }
    }
}

impl Handler<Drain> for WindowActor {
    type Result = ();

    fn handle(&mut self, Drain(done): Drain, ctx: &mut Context<Self>) {
        self.draining = true;
        self.drained.push(done);
        let open: Vec<_> = self.windows.iter().map(|window| window.id).collect();
        open.into_iter().for_each(|id| self.close(id, ctx));
        self.settle();
    }
}

impl Handler<Stop> for WindowActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
