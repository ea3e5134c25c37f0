//! The data plane of a processor: supervised actix actors.
//!
//! ```text
//! ProcessorActor (supervised; restarts the pipeline with backoff)
//!   InputActor per input ─► WindowActor ─► InvokerActor (streaming.Riff/Invoke) ─► output topics
//! ```
//!
//! Each record travels with its [`ack::AckHandle`]: the window acknowledges its records once the
//! window's call completed and every output was accepted, which commits their positions.
//!
//! Records move in batches. Windows are called in order, several at a time; a call publishes its
//! outputs once every earlier call handed its own to the broker, so outputs keep window order,
//! and windows are committed in order once their outputs were acknowledged.

mod ack;
mod assign;
mod attempts;
mod capacity;
mod dead_letter;
pub mod health;
mod input;
mod invoker;
mod ledger;
pub mod messages;
mod threads;
mod window;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use riff_protocol::riff::StartFrame;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};

use crate::broker::{Broker, OffsetReset};
use crate::metrics::ProcessorMetrics;
use crate::resources::{ResolvedDelivery, ResolvedWindow};
use crate::supervision::{self, Backoff};
pub use capacity::Capacity;
use capacity::InFlight;
pub use health::Health;
use input::InputActor;
use invoker::InvokerActor;
use messages::{Drain, PauseReading, PipelineFailed, Stop, Subscribed, WhenSubscribed};
pub use threads::ProcessorThreads;
use window::WindowActor;

/// The most calls of a processor in progress at once, each on a connection of its own: later
/// windows are called while earlier ones complete (their outputs still follow the earlier ones').
const CALLS_IN_FLIGHT: usize = 8;

/// How long a pipeline must have run for its restart backoff to start over.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// Where one input of a processor is read from.
#[derive(Clone)]
pub struct InputBinding {
    /// The input's alias (a StartFrame input name).
    pub name: String,
    /// The broker holding the stream's topic.
    pub broker: Arc<dyn Broker>,
    /// The stream's topic.
    pub topic: String,
    /// Where a new consumer group starts.
    pub reset: OffsetReset,
    /// The stream's content type: records of another type go to the dead-letter topic.
    pub content_type: String,
}

/// Where one output of a processor is written to.
#[derive(Clone)]
pub struct OutputBinding {
    /// The output's alias (a StartFrame output name).
    pub name: String,
    /// The broker holding the stream's topic.
    pub broker: Arc<dyn Broker>,
    /// The stream's topic.
    pub topic: String,
    /// The stream's content type, asked of the function.
    pub content_type: String,
}

/// Everything a processor pipeline needs to run.
#[derive(Clone)]
pub struct PipelineConfig {
    /// `processor <namespace>/<name>`, as logs name it.
    pub resource: String,
    /// The consumer group of every input (riff: the processor's name).
    pub group: String,
    /// Inputs, in order (argIndex).
    pub inputs: Vec<InputBinding>,
    /// Outputs, in order (resultIndex).
    pub outputs: Vec<OutputBinding>,
    /// The function's gRPC address, e.g. `http://127.0.0.1:8081`.
    pub function: String,
    /// When windows close.
    pub window: ResolvedWindow,
    /// How many input records, and bytes of them, may be in flight (read but not committed)
    /// at once; a window holds at most half of either (a bigger window is cut into several
    /// invocations).
    pub capacity: Capacity,
    /// Retries, call timeout and what is given up on.
    pub delivery: ResolvedDelivery,
    /// The dead-letter stream (`delivery.deadLetter`), if any.
    pub dead_letter: Option<OutputBinding>,
    /// Where the pipeline reports a record it stopped at.
    pub health: Health,
    /// The processor's metrics.
    pub metrics: ProcessorMetrics,
}

impl PipelineConfig {
    /// The StartFrame opening every call.
    fn start_frame(&self) -> StartFrame {
        StartFrame {
            expected_content_types: self
                .outputs
                .iter()
                .map(|o| o.content_type.clone())
                .collect(),
            input_names: self.inputs.iter().map(|i| i.name.clone()).collect(),
            output_names: self.outputs.iter().map(|o| o.name.clone()).collect(),
        }
    }

    /// The window, closing early once it holds half the capacity: the next window fills while
    /// one is invoked, and a window never waits for capacity only its own commit can free.
    fn bounds(&self) -> ResolvedWindow {
        let limit = self.half_capacity();
        ResolvedWindow {
            count: Some(self.window.count.map_or(limit, |count| count.min(limit))),
            ..self.window.clone()
        }
    }

    /// Half the in-flight capacity's records: the most a window holds.
    fn half_capacity(&self) -> u64 {
        (self.capacity.records as u64 / 2).max(1)
    }
}

/// The running actors of one pipeline.
struct Pipeline {
    inputs: Vec<Addr<InputActor>>,
    window: Addr<WindowActor>,
    invoker: Addr<InvokerActor>,
}

impl Pipeline {
    fn stop(self) {
        self.inputs.iter().for_each(|input| input.do_send(Stop));
        self.window.do_send(Stop);
        self.invoker.do_send(Stop);
    }
}

/// Supervises a processor's pipeline: builds it, and rebuilds it with exponential backoff when
/// an input fails. Function failures do not get here: the window actor retries those.
pub struct ProcessorActor {
    config: PipelineConfig,
    /// One connection to the function per call in flight.
    channels: Vec<Channel>,
    pipeline: Option<Pipeline>,
    backoff: Backoff,
    /// Why the pipeline failed and how long to wait before rebuilding it.
    last_failure: Option<(String, Duration)>,
    built_at: Instant,
    halted: bool,
    subscribed: usize,
    when_subscribed: Vec<oneshot::Sender<()>>,
}

impl ProcessorActor {
    /// A processor actor for `config`, its function at `endpoint`, reached lazily (and
    /// retried) from the thread this runs on.
    fn new(config: PipelineConfig, endpoint: Endpoint) -> Self {
        ProcessorActor {
            config,
            channels: (0..CALLS_IN_FLIGHT)
                .map(|_| endpoint.connect_lazy())
                .collect(),
            pipeline: None,
            backoff: Backoff::default(),
            last_failure: None,
            built_at: Instant::now(),
            halted: false,
            subscribed: 0,
            when_subscribed: Vec::new(),
        }
    }

    fn build(&mut self, ctx: &mut Context<Self>) {
        if self.halted {
            return;
        }
        let config = &self.config;
        let capacity = InFlight::new(config.capacity);
        let processor = ctx.address();
        self.subscribed = 0;
        let (channels, start, outputs, metrics) = (
            self.channels.clone(),
            config.start_frame(),
            config.outputs.clone(),
            config.metrics.clone(),
        );
        let mut invoker = None;
        let window = WindowActor::create(|window_ctx| {
            let report = window_ctx.address().recipient();
            let started = InvokerActor::new(channels, start, outputs, metrics, report).start();
            invoker = Some(started.clone());
            let max_units = capacity.window_units();
            WindowActor::new(config, max_units, started)
        });
        let invoker = invoker.expect("the window actor was created");
        let inputs = config
            .inputs
            .iter()
            .enumerate()
            .map(|(index, binding)| {
                let (window, capacity) = (window.clone(), capacity.clone());
                let binding = binding.clone();
                InputActor::new(index, binding, config, window, capacity, processor.clone()).start()
            })
            .collect();
        self.pipeline = Some(Pipeline {
            inputs,
            window,
            invoker,
        });
        self.built_at = Instant::now();
        supervision::started(&config.resource, "processor");
    }
}

impl Actor for ProcessorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match self.last_failure.take() {
            None => {
                // The first call takes the first connection: open it now.
                actix::spawn(invoker::connect_early(self.channels[0].clone()));
                self.build(ctx)
            }
            Some((reason, delay)) => {
                ctx.run_later(delay, move |actor, ctx| {
                    let attempt = actor.backoff.attempt();
                    supervision::restarting(&actor.config.resource, "processor", &reason, attempt);
                    actor.build(ctx)
                });
            }
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if let Some(pipeline) = self.pipeline.take() {
            pipeline.stop();
        }
    }
}

impl Supervised for ProcessorActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        if let Some(pipeline) = self.pipeline.take() {
            pipeline.stop();
        }
    }
}

impl Handler<PipelineFailed> for ProcessorActor {
    type Result = ();

    fn handle(&mut self, failure: PipelineFailed, ctx: &mut Context<Self>) {
        if self.built_at.elapsed() > STABLE_AFTER {
            self.backoff.reset();
        }
        let reason = format!("{} failed: {}", failure.actor, failure.reason);
        let delay = self.backoff.next_delay();
        let attempt = self.backoff.attempt();
        supervision::failed(&self.config.resource, "processor", &reason, attempt, delay);
        self.last_failure = Some((reason, delay));
        ctx.stop(); // the Supervisor restarts this actor, which rebuilds the pipeline
    }
}

impl Handler<Subscribed> for ProcessorActor {
    type Result = ();

    fn handle(&mut self, _: Subscribed, _: &mut Context<Self>) {
        self.subscribed += 1;
        if self.subscribed >= self.config.inputs.len() {
            self.when_subscribed
                .drain(..)
                .for_each(|ready| _ = ready.send(()));
        }
    }
}

impl Handler<WhenSubscribed> for ProcessorActor {
    type Result = ();

    fn handle(&mut self, WhenSubscribed(ready): WhenSubscribed, _: &mut Context<Self>) {
        if self.pipeline.is_some() && self.subscribed >= self.config.inputs.len() {
            _ = ready.send(());
        } else {
            self.when_subscribed.push(ready);
        }
    }
}

impl Handler<Drain> for ProcessorActor {
    type Result = ();

    fn handle(&mut self, Drain(done): Drain, _: &mut Context<Self>) {
        match &self.pipeline {
            Some(pipeline) => {
                let inputs = &pipeline.inputs;
                inputs.iter().for_each(|input| input.do_send(PauseReading));
                // The window reports once its windows completed and their positions committed.
                pipeline.window.do_send(Drain(done));
            }
            None => _ = done.send(()),
        }
    }
}

impl Handler<Stop> for ProcessorActor {
    type Result = ();

    /// Stops the pipeline for good. The actor itself ends once its address is dropped: a
    /// supervised actor that stops while still addressed is restarted.
    fn handle(&mut self, _: Stop, _: &mut Context<Self>) {
        self.halted = true;
        self.config.metrics.forget();
        if let Some(pipeline) = self.pipeline.take() {
            pipeline.stop();
            supervision::stopped(&self.config.resource, "processor");
        }
    }
}

/// Starts a supervised processor on `thread` (see [`ProcessorThreads`]): its actors and its
/// connections to the function live there.
pub fn start(
    config: PipelineConfig,
    thread: &ArbiterHandle,
) -> Result<Addr<ProcessorActor>, tonic::transport::Error> {
    let endpoint =
        Endpoint::from_shared(config.function.clone())?.connect_timeout(Duration::from_secs(5));
    let actor = move |_: &mut Context<ProcessorActor>| ProcessorActor::new(config, endpoint);
    Ok(Supervisor::start_in_arbiter(thread, actor))
}

/// Resolves once every input of the processor was assigned its partitions, each from a pinned
/// position (committed, or the start its `startOffset` gives, committed before reading).
pub async fn subscribed(processor: &Addr<ProcessorActor>) {
    let (ready, subscribed) = oneshot::channel();
    if processor.send(WhenSubscribed(ready)).await.is_ok() {
        _ = subscribed.await;
    }
}

/// Lets the processor finish its open windows (inputs paused), up to `timeout`.
pub async fn drain(processor: &Addr<ProcessorActor>, timeout: Duration) -> bool {
    let (done, finished) = oneshot::channel();
    if processor.send(Drain(done)).await.is_err() {
        return true;
    }
    tokio::time::timeout(timeout, finished).await.is_ok()
}
