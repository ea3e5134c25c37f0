//! WindowActor: cuts the merged inputs into windows and drives one invocation per window,
//! acknowledging a record (committing its position) only after every window it belongs to
//! completed. riff's tumbling windows stream into their call as records come; the other kinds
//! (`processor::assign`) are called once closed. A window that fails is retried by its delivery
//! policy; one that failed every attempt is narrowed down until the records that fail alone are
//! given up. How records join windows is `placing`'s; this module drives the windows' calls.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use riff_protocol::riff::InputFrame;
use tokio::sync::oneshot;

use super::ack::Commits;
use super::assign::{Assigner, Seq};
use super::attempts;
use super::dead_letter::{dead_letter, GivenUp};
use super::health::{Health, Stalled};
use super::invoker::{input_frame, InvokerActor};
use super::ledger::Ledger;
use super::messages::{
    Abandon, CallEnded, CallFailure, Drain, HalfClose, PriorAttempts, SendFrames, StartCall, Stop,
    WindowId,
};
use super::{InputBinding, OutputBinding, PipelineConfig, CALLS_IN_FLIGHT};
use crate::message::now_ms;
use crate::metrics::ProcessorMetrics;
use crate::resources::{ResolvedDelivery, ResolvedWindow};
use crate::supervision::{self, Backoff};

mod placing;

/// Where a window is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not called yet, or its last call failed: called in its turn.
    Waiting,
    /// A call is in progress.
    Calling,
    /// Its call completed; its outputs are being acknowledged.
    Acknowledging,
    /// The record being isolated failed every attempt: it is being dead-lettered.
    GivingUp,
    /// Its outputs were acknowledged: committed once every earlier window is.
    Done,
}

/// The records of a window, by their seqs in the ledger, in reading order.
enum Members {
    /// A streamed window: the records read while it was open.
    Run(Range<Seq>),
    /// A window the assigner closed.
    Listed(Vec<Seq>),
}

impl Members {
    fn len(&self) -> usize {
        match self {
            Members::Run(run) => (run.end - run.start) as usize,
            Members::Listed(seqs) => seqs.len(),
        }
    }

    /// The seq of record number `index`.
    fn get(&self, index: usize) -> Seq {
        match self {
            Members::Run(run) => run.start + index as Seq,
            Members::Listed(seqs) => seqs[index],
        }
    }

    /// The seqs of records number `range`.
    fn range(&self, range: Range<usize>) -> impl Iterator<Item = Seq> + '_ {
        range.map(|index| self.get(index))
    }

    fn iter(&self) -> impl Iterator<Item = Seq> + '_ {
        self.range(0..self.len())
    }
}

/// A window of input records, invoked as one call.
struct Window {
    id: WindowId,
    members: Members,
    /// The payload bytes its records hold of the pipeline's capacity.
    units: u64,
    /// No more records join this window.
    closed: bool,
    stage: Stage,
    /// Counts the window's calls: reports of an earlier call are stale.
    attempt: u64,
    /// Closes the window when its duration elapses.
    timer: Option<SpawnHandle>,
    /// Counted failed attempts of the part being called.
    failures: u32,
    /// While a failure is isolated: the ranges of `held` still to complete, called one at a
    /// time, the current one first. Empty: the window is one call.
    parts: VecDeque<Range<usize>>,
    /// A record failed every attempt and there is no dead-letter stream: reading stops here.
    parked: bool,
    /// When its current call started.
    called_at: Option<Instant>,
    /// When its first record came.
    opened_at: Instant,
}

impl Window {
    /// Window `id` of `members`, not called yet; `closed` when no more records join it.
    fn new(id: WindowId, members: Members, units: u64, closed: bool) -> Self {
        Window {
            id,
            members,
            units,
            closed,
            stage: Stage::Waiting,
            attempt: 0,
            timer: None,
            failures: 0,
            parts: VecDeque::new(),
            parked: false,
            called_at: None,
            opened_at: Instant::now(),
        }
    }

    /// The records of the next call: the current part, or all of them.
    fn part(&self) -> Range<usize> {
        self.parts.front().cloned().unwrap_or(0..self.members.len())
    }
}

/// Windows are invoked in order, several at a time: later windows are called while earlier
/// ones complete, and their outputs are published after every output of the earlier ones. A
/// window's records are released once its call succeeded and its outputs were acknowledged,
/// and only after every earlier window's; the ledger commits a record once every window it
/// belongs to was released, each partition in order. A failed call (or output) is retried with backoff,
/// with every later window: nothing of them is committed meanwhile. A window that failed
/// `delivery.maxAttempts` times is called in halves, one at a time, down to single records: a
/// record that fails alone every attempt is dead-lettered, or without a dead-letter stream,
/// retried every `backoff.max` with reading stopped behind it.
pub struct WindowActor {
    resource: String,
    bounds: ResolvedWindow,
    delivery: ResolvedDelivery,
    /// The inputs, by argIndex: where given-up records come from.
    inputs: Vec<InputBinding>,
    dead_letter: Option<OutputBinding>,
    /// The consumer group: where failed attempts are stored.
    group: String,
    /// Where a record reading stopped at is reported.
    health: Health,
    metrics: ProcessorMetrics,
    /// Failed attempts of earlier runs, by the (input, partition, offset) of the first record
    /// of their window.
    prior: HashMap<(usize, u32, u64), u32>,
    /// A window closes once its records hold this many payload bytes.
    max_units: u64,
    /// Past this many records held, the assigner's oldest windows close (their records hold
    /// everything read after them).
    max_records: u64,
    invoker: Addr<InvokerActor>,
    /// The records read and not yet acknowledged.
    ledger: Ledger,
    /// Cuts every kind of window but riff's streamed one.
    assigner: Option<Assigner>,
    /// When the assigner is next asked what closed, and the timer that will.
    deadline: Option<(i64, SpawnHandle)>,
    /// Records whose `ce_time` could not be read (their Kafka timestamp was used).
    bad_times: u64,
    windows: VecDeque<Window>,
    /// Where the records seen so far are committed: flushed before a drain is reported.
    commits: Vec<Arc<Commits>>,
    next_id: WindowId,
    /// The first window whose call has not started: calls start in window order.
    next_call: WindowId,
    /// Windows whose call is in progress.
    calling: usize,
    backoff: Backoff,
    drained: Vec<oneshot::Sender<()>>,
    draining: bool,
    retry_pending: bool,
}

impl WindowActor {
    /// The window actor of pipeline `config`, invoking through `invoker`.
    pub fn new(config: &PipelineConfig, max_units: u64, invoker: Addr<InvokerActor>) -> Self {
        WindowActor {
            resource: config.resource.clone(),
            bounds: config.bounds(),
            delivery: config.delivery.clone(),
            inputs: config.inputs.clone(),
            dead_letter: config.dead_letter.clone(),
            group: config.group.clone(),
            health: config.health.clone(),
            metrics: config.metrics.clone(),
            prior: HashMap::new(),
            max_units,
            max_records: config.half_capacity(),
            invoker,
            ledger: Ledger::default(),
            assigner: (!config.window.is_streamed()).then(|| Assigner::new(&config.bounds())),
            deadline: None,
            bad_times: 0,
            windows: VecDeque::new(),
            commits: Vec::new(),
            next_id: 0,
            next_call: 0,
            calling: 0,
            backoff: config.delivery.backoff.into(),
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
            .duration()
            .map(|duration| ctx.run_later(duration, move |actor, ctx| actor.close(id, ctx)));
        let next = self.ledger.next_seq();
        let window = Window::new(id, Members::Run(next..next), 0, false);
        self.windows.push_back(Window { timer, ..window });
        id
    }

    /// Window `id`, if it is still held (windows hold consecutive ids).
    fn window_mut(&mut self, id: WindowId) -> Option<&mut Window> {
        let index = self.index_of(id)?;
        self.windows.get_mut(index)
    }

    /// Where window `id` is in `windows` (windows hold consecutive ids).
    fn index_of(&self, id: WindowId) -> Option<usize> {
        let front = self.windows.front()?.id;
        usize::try_from(id.checked_sub(front)?).ok()
    }

    /// Ends window `id`: no more records join it, and its call is half-closed.
    fn close(&mut self, id: WindowId, ctx: &mut Context<Self>) {
        self.end(id, ctx);
        self.settle(ctx);
    }

    /// Marks window `id` closed and half-closes its call (its timeout starts).
    fn end(&mut self, id: WindowId, ctx: &mut Context<Self>) {
        let Some(window) = self.window_mut(id) else {
            return;
        };
        if window.closed {
            return;
        }
        window.closed = true;
        let open_for = window.opened_at.elapsed();
        let (attempt, calling) = (window.attempt, window.stage == Stage::Calling);
        if let Some(timer) = window.timer.take() {
            ctx.cancel_future(timer);
        }
        if calling {
            self.invoker.do_send(HalfClose { window: id });
            self.time_out(id, attempt, ctx);
        }
        self.metrics.window_closed(open_for);
    }

    /// Fails call `attempt` of window `id` if it still runs `delivery.timeout` from now.
    fn time_out(&mut self, id: WindowId, attempt: u64, ctx: &mut Context<Self>) {
        let Some(timeout) = self.delivery.timeout else {
            return;
        };
        ctx.run_later(timeout, move |actor, ctx| {
            if actor.current(id, attempt, Stage::Calling).is_some() {
                let reason = format!("timed out: the call ran {timeout:?} after its window closed");
                actor.failed(id, CallFailure::timeout(reason), ctx);
            }
        });
    }

    /// Commits the done windows at the front, then starts the calls of the windows whose turn
    /// came.
    fn settle(&mut self, ctx: &mut Context<Self>) {
        while let Some(front) = self.windows.pop_front() {
            if front.stage != Stage::Done {
                self.windows.push_front(front);
                break;
            }
            self.ledger.release(front.members.iter());
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
            self.start_calls(ctx);
        }
        self.report_in_flight();
    }

    /// Opens calls for the waiting windows, in order, up to [`CALLS_IN_FLIGHT`], replaying
    /// everything each holds so far. A window being narrowed down calls its parts one at a
    /// time, and the windows after it wait.
    fn start_calls(&mut self, ctx: &mut Context<Self>) {
        while self.calling < CALLS_IN_FLIGHT {
            let id = self.next_call;
            // Indexed rather than `window_mut`: the frames are read from the ledger meanwhile.
            let index = self.index_of(id);
            let window = index.and_then(|index| self.windows.get_mut(index));
            let Some(window) = window.filter(|w| w.stage == Stage::Waiting) else {
                return;
            };
            window.stage = Stage::Calling;
            window.attempt += 1;
            window.called_at = Some(Instant::now());
            let (attempt, closed, isolating) =
                (window.attempt, window.closed, !window.parts.is_empty());
            let ledger = &self.ledger;
            let frames = (window.members.range(window.part()))
                .map(|seq| {
                    let held = ledger.get(seq);
                    input_frame(held.input, &held.record.message)
                })
                .collect();
            self.invoker.do_send(StartCall {
                window: id,
                attempt,
                frames,
                closed,
            });
            self.calling += 1;
            if closed {
                self.time_out(id, attempt, ctx);
            }
            if isolating {
                return;
            }
            self.next_call += 1;
        }
    }

    /// Window `id`'s call failed, or its outputs did: its calls and every later window's are
    /// abandoned (their outputs must follow its outputs), then it is retried after a backoff;
    /// once its part failed every attempt, narrowed down or given up.
    fn failed(&mut self, id: WindowId, failure: CallFailure, ctx: &mut Context<Self>) {
        self.metrics.call_failed(failure.counted, failure.timed_out);
        self.invoker.do_send(Abandon);
        let front = self.windows.front().map_or(id, |window| window.id);
        let mut calling = 0;
        for window in self.windows.range_mut((id - front) as usize..) {
            calling += usize::from(window.stage == Stage::Calling);
            window.stage = Stage::Waiting;
        }
        self.calling -= calling;
        self.next_call = id;
        let max_attempts = self.delivery.max_attempts;
        let window = self.window_mut(id).expect("a failed window is held");
        window.failures += u32::from(failure.counted);
        if failure.counted && window.parts.is_empty() && max_attempts.is_some() {
            self.store_attempts(id);
        }
        let window = self.window_mut(id).expect("a failed window is held");
        if max_attempts.is_none_or(|max| window.failures < max.get()) {
            let delay = self.backoff.next_delay();
            let attempt = self.backoff.attempt();
            supervision::failed(&self.resource, "invoker", &failure.reason, attempt, delay);
            return self.retry_after(delay, ctx);
        }
        self.end(id, ctx);
        let window = self.window_mut(id).expect("a failed window is held");
        let part = window.part();
        if part.len() > 1 {
            let middle = part.start + part.len() / 2;
            window.parts.pop_front();
            window.parts.push_front(middle..part.end);
            window.parts.push_front(part.start..middle);
            window.failures = 0;
            tracing::warn!(
                resource = %self.resource, records = part.len(), attempts = max_attempts.map(|n| n.get()),
                reason = %failure.reason,
                "records failed every attempt together; calling them in halves to isolate the failing ones"
            );
            self.backoff.reset();
            self.settle(ctx);
        } else {
            self.give_up(id, failure.reason, ctx);
        }
    }

    /// Stores the failed attempts of window `id` beside the positions of its inputs, when every
    /// earlier window is committed (so that a restart reads it again from its first records).
    fn store_attempts(&self, id: WindowId) {
        let Some(window) = self.windows.front().filter(|front| front.id == id) else {
            return;
        };
        let mut starts: HashMap<(usize, u32), u64> = HashMap::new();
        for held in window.members.iter().map(|seq| self.ledger.get(seq)) {
            let key = (held.input, held.record.partition);
            let offset = starts.entry(key).or_insert(held.record.offset);
            *offset = (*offset).min(held.record.offset);
        }
        for (index, input) in self.inputs.iter().enumerate() {
            let of_input: Vec<_> = (starts.iter())
                .filter(|((i, _), _)| *i == index)
                .map(|((_, partition), offset)| (*partition, *offset))
                .collect();
            if !of_input.is_empty() {
                attempts::store(input, &self.group, of_input, window.failures);
            }
        }
    }

    /// Calls again, from the first waiting window, after `delay`.
    fn retry_after(&mut self, delay: std::time::Duration, ctx: &mut Context<Self>) {
        self.retry_pending = true;
        ctx.run_later(delay, |actor, ctx| {
            actor.retry_pending = false;
            actor.settle(ctx);
        });
    }

    /// The record of window `id`'s current part failed alone every attempt: it goes to the
    /// dead-letter stream; without one, it is retried every `backoff.max`, reading stopped
    /// behind it (never skipped).
    fn give_up(&mut self, id: WindowId, reason: String, ctx: &mut Context<Self>) {
        let (resource, stream) = (self.resource.clone(), self.dead_letter.clone());
        let max_delay = self.backoff.max();
        let window = self.window_mut(id).expect("a given-up window is held");
        let (seq, attempts) = (window.members.get(window.part().start), window.failures);
        let held = self.ledger.get(seq);
        let (input, record) = (held.input, held.record.clone());
        let input = self.inputs[input].clone();
        let window = self.window_mut(id).expect("a given-up window is held");
        let Some(stream) = stream else {
            if !window.parked {
                window.parked = true;
                let (partition, offset) = (record.partition, record.offset);
                self.health.set(Some(Stalled {
                    topic: input.topic.clone(),
                    partition,
                    offset,
                    attempts,
                    error: reason.clone(),
                }));
                tracing::error!(
                    resource, topic = %input.topic, partition, offset, attempts, %reason,
                    retry_every = ?max_delay,
                    "delivery failed: a record failed every attempt and the processor has no \
                     dead-letter stream; reading stops here, the record is retried until it succeeds"
                );
            }
            return self.retry_after(max_delay, ctx);
        };
        window.stage = Stage::GivingUp;
        let attempt = window.attempt;
        let why = GivenUp::Failed {
            reason: reason.clone(),
            attempts,
        };
        let moved = async move { dead_letter(Some(&stream), &input, record, why).await };
        ctx.spawn(moved.into_actor(self).map(move |moved, actor, ctx| {
            if actor.current(id, attempt, Stage::GivingUp).is_none() {
                return;
            }
            match moved {
                Ok(()) => {
                    actor.metrics.dead_lettered();
                    actor.part_done(id, ctx)
                }
                Err(error) => {
                    let delay = actor.backoff.next_delay();
                    let tries = actor.backoff.attempt();
                    supervision::failed(&actor.resource, "dead letters", &error, tries, delay);
                    ctx.run_later(delay, move |actor, ctx| {
                        if actor.current(id, attempt, Stage::GivingUp).is_some() {
                            actor.give_up(id, reason, ctx);
                        }
                    });
                }
            }
        }));
    }

    /// Window `id`'s current part completed (its outputs acknowledged, or its record
    /// dead-lettered): the next part is called, or the window is done.
    fn part_done(&mut self, id: WindowId, ctx: &mut Context<Self>) {
        let (resource, health) = (self.resource.clone(), self.health.clone());
        let window = self.window_mut(id).expect("a completed window is held");
        if window.parked {
            window.parked = false;
            health.set(None);
            tracing::info!(
                resource,
                "delivery resumed: the record that failed every attempt succeeded"
            );
        }
        window.failures = 0;
        window.parts.pop_front();
        if window.parts.is_empty() {
            window.stage = Stage::Done;
            if self.next_call == id {
                self.next_call += 1; // it was narrowed down: the later windows' turn
            }
        } else {
            window.stage = Stage::Waiting;
        }
        self.backoff.reset();
        self.settle(ctx);
    }

    /// Window `id`'s current call completed and its outputs were acknowledged: counted.
    fn call_completed(&mut self, id: WindowId) {
        let Some(window) = self.window_mut(id) else {
            return;
        };
        let records = window.part().len();
        let took = window.called_at.map(|at| at.elapsed()).unwrap_or_default();
        self.metrics.call_completed(records, took);
    }

    /// The records not acknowledged yet, and their payload bytes, for the in-flight gauges.
    fn report_in_flight(&self) {
        (self.metrics).in_flight(self.ledger.unacknowledged() as u64, self.ledger.units());
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

impl Handler<PriorAttempts> for WindowActor {
    type Result = ();

    fn handle(&mut self, PriorAttempts { input, records }: PriorAttempts, _: &mut Context<Self>) {
        for (partition, offset, attempts) in records {
            tracing::info!(
                resource = %self.resource, partition, offset, attempts,
                "the window of this record failed before a restart or rebalance; its attempts go on from there"
            );
            self.prior.insert((input, partition, offset), attempts);
        }
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
                            if actor.current(id, attempt, Stage::Acknowledging).is_none() {
                                return;
                            }
                            match outcome {
                                Ok(()) => {
                                    actor.call_completed(id);
                                    actor.part_done(id, ctx)
                                }
                                Err(failure) => actor.failed(id, failure, ctx),
                            }
                        }),
                );
                self.settle(ctx);
            }
            Err(failure) => self.failed(id, failure, ctx),
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
        if let Some(assigner) = self.assigner.as_mut() {
            // Event-time windows are left open: a restart rebuilds them from their records.
            let (closed, now) = (assigner.drain(), now_ms());
            closed
                .into_iter()
                .for_each(|window| self.enqueue(window, now));
        }
        self.settle(ctx);
    }
}

impl Handler<Stop> for WindowActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
