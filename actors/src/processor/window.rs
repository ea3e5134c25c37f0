//! WindowActor: cuts the merged inputs into tumbling windows and drives one invocation per
//! window, acknowledging a window's records (committing their positions) only after it
//! completed.

use std::collections::VecDeque;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::ack::{AckHandle, Commits};
use super::invoker::InvokerActor;
use super::messages::{CallEnded, Drain, HalfClose, Inbound, SendFrame, StartCall, Stop, WindowId};
use crate::message::Record;
use crate::resources::ResolvedWindow;
use crate::supervision::{self, Backoff};

/// One input record held by a window until the window is committed.
struct Held {
    input: usize,
    record: Record,
    ack: AckHandle,
}

/// A window of input records, invoked as one call.
struct Window {
    id: WindowId,
    held: Vec<Held>,
    /// The payload units its records hold of the pipeline's capacity.
    units: u64,
    /// No more records join this window.
    closed: bool,
    /// A call for this window is in progress.
    calling: bool,
    /// Closes the window when its duration elapses.
    timer: Option<SpawnHandle>,
}

/// Windows are invoked strictly in order: the front window is the one being invoked, later
/// windows fill up meanwhile. A failed invocation is retried with exponential backoff and the
/// whole window redelivered; nothing is committed until the window's call succeeded.
pub struct WindowActor {
    resource: String,
    bounds: ResolvedWindow,
    /// A window closes once its records hold this many payload units.
    max_units: u64,
    invoker: Addr<InvokerActor>,
    windows: VecDeque<Window>,
    /// Where the records seen so far are committed: flushed before a drain is reported.
    commits: Vec<Arc<Commits>>,
    next_id: WindowId,
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
            held: Vec::new(),
            units: 0,
            closed: false,
            calling: false,
            timer,
        });
        id
    }

    /// Ends window `id`: no more records join it, and its call is half-closed.
    fn close(&mut self, id: WindowId, ctx: &mut Context<Self>) {
        let Some(position) = self.windows.iter().position(|window| window.id == id) else {
            return;
        };
        let window = &mut self.windows[position];
        if window.closed {
            return;
        }
        window.closed = true;
        if let Some(timer) = window.timer.take() {
            ctx.cancel_future(timer);
        }
        if position == 0 && window.calling {
            self.invoker.do_send(HalfClose { window: id });
        }
        self.settle();
    }

    /// Drops completed windows at the front and makes sure the front window is being invoked.
    fn settle(&mut self) {
        while let Some(front) = self.windows.front() {
            if !(front.closed && front.held.is_empty() && !front.calling) {
                break;
            }
            self.windows.pop_front();
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
            self.start_front();
        }
    }

    /// Opens a call for the front window, if it holds records and has none, and replays
    /// everything it holds so far.
    fn start_front(&mut self) {
        let Some(window) = self
            .windows
            .front_mut()
            .filter(|window| !window.calling && !window.held.is_empty())
        else {
            return;
        };
        window.calling = true;
        self.invoker.do_send(StartCall { window: window.id });
        for held in &window.held {
            self.invoker.do_send(SendFrame {
                window: window.id,
                input: held.input,
                message: held.record.message.clone(),
            });
        }
        if window.closed {
            self.invoker.do_send(HalfClose { window: window.id });
        }
    }

    /// Acknowledges the records of the front window: their positions are committed and their
    /// capacity released.
    fn commit_front(&mut self) {
        if let Some(window) = self.windows.front_mut() {
            window.held.drain(..).for_each(|held| held.ack.ack());
        }
    }

    /// Commits the front window: its call received every record and completed.
    fn call_succeeded(&mut self) {
        self.backoff.reset();
        self.commit_front();
        self.settle();
    }

    /// Schedules a retry of the front window after a backoff.
    fn call_failed(&mut self, reason: &str, ctx: &mut Context<Self>) {
        let delay = self.backoff.next_delay();
        supervision::failed(
            &self.resource,
            "invoker",
            &reason,
            self.backoff.attempt(),
            delay,
        );
        self.retry_pending = true;
        ctx.run_later(delay, |actor, _| {
            actor.retry_pending = false;
            actor.settle();
        });
    }
}

impl Actor for WindowActor {
    type Context = Context<Self>;
}

impl Handler<Inbound> for WindowActor {
    type Result = ();

    fn handle(&mut self, inbound: Inbound, ctx: &mut Context<Self>) {
        let id = self.open_window(ctx);
        let window = self.windows.back_mut().expect("an open window");
        if window.calling {
            self.invoker.do_send(SendFrame {
                window: id,
                input: inbound.input,
                message: inbound.record.message.clone(),
            });
        }
        window.units += inbound.ack.units();
        let commits = inbound.ack.commits();
        if !self.commits.iter().any(|seen| Arc::ptr_eq(seen, commits)) {
            self.commits.push(Arc::clone(commits));
        }
        window.held.push(Held {
            input: inbound.input,
            record: inbound.record,
            ack: inbound.ack,
        });
        let full = window.units >= self.max_units
            || self
                .bounds
                .count
                .is_some_and(|count| window.held.len() as u64 >= count);
        if full || self.draining {
            self.close(id, ctx);
        } else {
            self.settle();
        }
    }
}

impl Handler<CallEnded> for WindowActor {
    type Result = ();

    fn handle(&mut self, ended: CallEnded, ctx: &mut Context<Self>) {
        let Some(front) = self.windows.front_mut() else {
            return;
        };
        if front.id != ended.window || !front.calling {
            return; // a stale report
        }
        front.calling = false;
        match ended.outcome {
            Ok(()) => self.call_succeeded(),
            Err(reason) => self.call_failed(&reason, ctx),
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
