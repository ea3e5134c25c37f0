//! How records join windows: riff's tumbling windows take records as they come and stream them
//! into the open window's call; the other kinds ask the assigner, which places each record in
//! its windows (by its event time, when the processor's clock says so) and closes them, on a
//! record or on a timer. A record later than every window it belongs to is dead-lettered (without
//! a dead-letter stream: logged and acknowledged).

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::{Members, Stage, Window, WindowActor};
use crate::message::{now_ms, Record};
use crate::processor::ack::AckHandle;
use crate::processor::assign::{self, Arrival, Closed, Placed, Seq};
use crate::processor::dead_letter::{dead_letter, GivenUp};
use crate::processor::invoker::input_frame;
use crate::processor::messages::{Inbound, Partitions};
use crate::resources::Clock;
use crate::supervision::{self, Backoff};

impl Handler<Inbound> for WindowActor {
    type Result = ();

    fn handle(&mut self, Inbound { input, records }: Inbound, ctx: &mut Context<Self>) {
        for (_, ack) in &records {
            let commits = ack.commits();
            if !self.commits.iter().any(|seen| Arc::ptr_eq(seen, commits)) {
                self.commits.push(Arc::clone(commits));
            }
        }
        match self.assigner.is_some() {
            true => self.assign(input, records, ctx),
            false => self.stream(input, records, ctx),
        }
        self.settle(ctx);
    }
}

impl WindowActor {
    /// riff's windows: records join the one open window, and stream into its call.
    fn stream(&mut self, input: usize, records: Vec<(Record, AckHandle)>, ctx: &mut Context<Self>) {
        // Frames for the call of the window being filled, sent before the window closes.
        let mut frames = Vec::new();
        for (record, ack) in records {
            let id = self.open_window(ctx);
            if !self.prior.is_empty() {
                let key = (input, record.partition, record.offset);
                if let Some(attempts) = self.prior.remove(&key) {
                    let window = self.windows.back_mut().expect("an open window");
                    window.failures = window.failures.max(attempts);
                }
            }
            let window = self.windows.back_mut().expect("an open window");
            if window.stage == Stage::Calling {
                frames.push(input_frame(input, &record.message));
            }
            window.units += ack.units();
            let seq = self.ledger.push(input, record, ack, 1);
            let Members::Run(run) = &mut window.members else {
                unreachable!("a streamed window is a run of records")
            };
            run.end = seq + 1;
            let full = window.units >= self.max_units
                || (self.bounds.count).is_some_and(|count| window.members.len() as u64 >= count);
            if full || self.draining {
                self.send_frames(id, &mut frames);
                self.close(id, ctx);
            }
        }
        if let Some(window) = self.windows.back().filter(|window| !window.closed) {
            self.send_frames(window.id, &mut frames);
        }
    }

    /// Every other kind: the assigner puts each record in its windows, and the windows it
    /// closes are called in turn.
    fn assign(&mut self, input: usize, records: Vec<(Record, AckHandle)>, ctx: &mut Context<Self>) {
        let now = now_ms();
        let event_clock = matches!(self.bounds.time, Clock::Event { .. });
        for (record, ack) in records {
            let event_ms = match event_clock {
                true => self.event_time(input, &record),
                false => now,
            };
            let (partition, key, units) =
                (record.partition, record.message.key.clone(), ack.units());
            let seq = self.ledger.push(input, record, ack, 0);
            let assigner = self.assigner.as_mut().expect("windows assigned");
            let arrival = Arrival {
                seq,
                source: (input, partition),
                event_ms,
                now_ms: now,
                key: key.as_ref(),
                units,
            };
            match assigner.place(arrival) {
                Placed::In(windows) => self.ledger.hold(seq, windows),
                Placed::Late {
                    end_ms,
                    watermark_ms,
                } => self.late(seq, end_ms, watermark_ms, ctx),
            }
        }
        let assigner = self.assigner.as_mut().expect("windows assigned");
        let mut closed = assigner.due(now);
        if self.draining {
            closed.extend(assigner.drain());
        }
        if self.ledger.len() as u64 >= self.max_records || self.ledger.units() >= self.max_units {
            let older_half = self.ledger.front() + self.ledger.len() as Seq / 2;
            closed.extend(assigner.close_before(older_half));
        }
        closed
            .into_iter()
            .for_each(|window| self.enqueue(window, now));
        self.ledger.ack_ready();
        self.schedule(now, ctx);
    }

    /// When `record` happened: its CloudEvents `time`, else (or when that does not read as an
    /// RFC 3339 time, with a warning) its Kafka timestamp.
    fn event_time(&mut self, input: usize, record: &Record) -> i64 {
        match assign::event_time(record) {
            Ok(time) => time,
            Err(error) => {
                self.bad_times += 1;
                if self.bad_times.is_power_of_two() {
                    let (partition, offset) = (record.partition, record.offset);
                    tracing::warn!(
                        resource = %self.resource, topic = %self.inputs[input].topic, partition,
                        offset, %error, records = self.bad_times,
                        "ce_time is not an RFC 3339 time; the record's Kafka timestamp is its event time"
                    );
                }
                record.timestamp_ms
            }
        }
    }

    /// Record `seq` came after every window it belongs to closed: it goes to the dead-letter
    /// stream, or without one is counted, logged and acknowledged.
    fn late(&mut self, seq: Seq, end_ms: i64, watermark_ms: i64, ctx: &mut Context<Self>) {
        self.metrics.late();
        let held = self.ledger.get(seq);
        let input = self.inputs[held.input].clone();
        let (partition, offset) = (held.record.partition, held.record.offset);
        let reason = format!(
            "late: its last window ended at {} and the watermark was {}",
            millis_text(end_ms),
            millis_text(watermark_ms)
        );
        let Some(stream) = self.dead_letter.clone() else {
            tracing::warn!(
                resource = %self.resource, topic = %input.topic, partition, offset, %reason,
                "late record dropped: the processor has no dead-letter stream"
            );
            return;
        };
        let record = held.record.clone();
        self.ledger.hold(seq, 1);
        let (resource, mut backoff) = (self.resource.clone(), Backoff::from(self.delivery.backoff));
        let moved = async move {
            loop {
                let why = GivenUp::Late(reason.clone());
                match dead_letter(Some(&stream), &input, record.clone(), why).await {
                    Ok(()) => return,
                    Err(error) => {
                        let delay = backoff.next_delay();
                        supervision::failed(
                            &resource,
                            "dead letters",
                            &error,
                            backoff.attempt(),
                            delay,
                        );
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        };
        ctx.spawn(moved.into_actor(self).map(move |(), actor, _| {
            actor.metrics.dead_lettered();
            actor.ledger.release([seq]);
        }));
    }

    /// Queues a window the assigner closed for its call.
    pub(super) fn enqueue(&mut self, closed: Closed, now: i64) {
        let id = self.next_id;
        self.next_id += 1;
        let mut failures = 0;
        if !self.prior.is_empty() {
            for seq in &closed.seqs {
                let held = self.ledger.get(*seq);
                let key = (held.input, held.record.partition, held.record.offset);
                if let Some(attempts) = self.prior.remove(&key) {
                    failures = failures.max(attempts);
                }
            }
        }
        let open_for = u64::try_from(now - closed.opened_ms).unwrap_or_default();
        self.metrics.window_closed(Duration::from_millis(open_for));
        let window = Window::new(id, Members::Listed(closed.seqs), closed.units, true);
        self.windows.push_back(Window { failures, ..window });
    }

    /// Asks the assigner again when something may close without a record coming.
    fn schedule(&mut self, now: i64, ctx: &mut Context<Self>) {
        let next = self.assigner.as_ref().and_then(|a| a.next_deadline(now));
        if self.deadline.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        if let Some((_, timer)) = self.deadline.take() {
            ctx.cancel_future(timer);
        }
        let Some(at) = next else { return };
        let delay = Duration::from_millis(u64::try_from(at - now).unwrap_or(0).min(DAY_MS));
        let timer = ctx.run_later(delay, |actor, ctx| {
            actor.deadline = None;
            actor.close_due(ctx);
        });
        self.deadline = Some((at, timer));
    }

    /// Calls the windows the assigner closed by now, and asks it again at its next deadline.
    fn close_due(&mut self, ctx: &mut Context<Self>) {
        let now = now_ms();
        let closed = self.assigner.as_mut().expect("windows assigned").due(now);
        closed
            .into_iter()
            .for_each(|window| self.enqueue(window, now));
        self.schedule(now, ctx);
        self.settle(ctx);
    }
}

/// The longest a timer waits before the assigner is asked again.
const DAY_MS: u64 = 86_400_000;

/// An epoch time in milliseconds as RFC 3339.
fn millis_text(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(time) => time.to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

impl Handler<Partitions> for WindowActor {
    type Result = ();

    fn handle(&mut self, change: Partitions, ctx: &mut Context<Self>) {
        let Some(assigner) = self.assigner.as_mut() else {
            return;
        };
        match change.assigned {
            true => assigner.assigned(change.input, &change.partitions, now_ms()),
            false => assigner.revoked(change.input, &change.partitions),
        }
        self.close_due(ctx);
    }
}
