//! Records taken from librdkafka in batches: the shared reader's and group members'.
//!
//! rdkafka's `BaseConsumer::poll` returns one record per call through librdkafka's event API:
//! a queue lock, three clock reads and an allocation per record. `rd_kafka_consume_batch_queue`
//! ([`take`]) takes every record ready in one call. It serves what else is in the queue with
//! librdkafka's own callbacks, which rdkafka leaves unset, so records are taken from a queue
//! that holds nothing else:
//! - the shared reader's consumer is in no group: its client's events (its logs and errors:
//!   rdkafka forwards them into the consumer's queue) are moved back to a queue of their own
//!   and served here to the client's context, as rdkafka would ([`Batches`]);
//! - a group member's queue also carries its rebalances, which that call would serve by
//!   unassigning everything (no rebalance callback is set): its partitions' records are
//!   forwarded to a queue of their own instead (`consumer::MemberRecords`).

use std::ffi::{c_char, CStr};
use std::ptr::{self, NonNull};

use rdkafka::bindings as rd;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

use super::diagnostics::Diagnostics;
use super::RdQueue;

/// The records and the events of one consumer outside any group (its partitions assigned).
pub(super) struct Batches {
    records: RdQueue,
    events: RdQueue,
    context: Diagnostics,
    /// The last batch taken, as librdkafka's messages.
    taken: Vec<*mut rd::rd_kafka_message_t>,
}

// SAFETY: `taken` holds no message between calls (the queues are `Send` themselves).
unsafe impl Send for Batches {}

impl Batches {
    /// Takes `consumer`'s records in batches (it must have a group id: its queue is the
    /// group's); its events are served by [`Batches::serve_events`] from now on.
    pub(super) fn of(consumer: &BaseConsumer<Diagnostics>) -> Option<Self> {
        let rk = consumer.client().native_ptr();
        let records = RdQueue::new(unsafe { rd::rd_kafka_queue_get_consumer(rk) })?;
        let events = RdQueue::new(unsafe { rd::rd_kafka_queue_get_main(rk) })?;
        // Undoes rdkafka's rd_kafka_poll_set_consumer: events stay where they are raised.
        unsafe { rd::rd_kafka_queue_forward(events.as_ptr(), ptr::null_mut()) };
        Some(Batches {
            records,
            events,
            context: consumer.context().as_ref().clone(),
            taken: Vec::new(),
        })
    }

    /// Up to `max` records ready now (a record librdkafka could not read is an error).
    pub(super) fn take(
        &mut self,
        max: usize,
    ) -> impl ExactSizeIterator<Item = Result<Taken, KafkaError>> + '_ {
        take(&self.records, &mut self.taken, max)
    }

    /// Serves the client's logs and errors to its context.
    pub(super) fn serve_events(&self) {
        loop {
            let event = unsafe { rd::rd_kafka_queue_poll(self.events.as_ptr(), 0) };
            if event.is_null() {
                return;
            }
            match unsafe { rd::rd_kafka_event_type(event) } {
                rd::RD_KAFKA_EVENT_LOG => {
                    let (mut facility, mut line, mut level) = (ptr::null(), ptr::null(), 0);
                    let read = unsafe {
                        rd::rd_kafka_event_log(event, &mut facility, &mut line, &mut level)
                    };
                    if read == 0 {
                        let (facility, line) = unsafe { (text(facility), text(line)) };
                        self.context
                            .log(log_level(level), facility.trim(), line.trim());
                    }
                }
                rd::RD_KAFKA_EVENT_ERROR => {
                    let code = unsafe { rd::rd_kafka_event_error(event) };
                    let reason = unsafe { text(rd::rd_kafka_event_error_string(event)) };
                    let error = KafkaError::Global(RDKafkaErrorCode::from(code));
                    self.context.error(error, reason.trim());
                }
                // Statistics are off, and the other events belong to group members.
                _ => {}
            }
            unsafe { rd::rd_kafka_event_destroy(event) };
        }
    }
}

/// Up to `max` records ready now in `queue`, which holds records only (a record librdkafka
/// could not read is an error); `taken` holds them between the call and the iteration.
pub(super) fn take<'a>(
    queue: &RdQueue,
    taken: &'a mut Vec<*mut rd::rd_kafka_message_t>,
    max: usize,
) -> impl ExactSizeIterator<Item = Result<Taken, KafkaError>> + 'a {
    taken.clear();
    taken.reserve(max);
    let count =
        unsafe { rd::rd_kafka_consume_batch_queue(queue.as_ptr(), 0, taken.as_mut_ptr(), max) };
    // SAFETY: librdkafka wrote `count` messages (none when it fails: -1).
    unsafe { taken.set_len(count.clamp(0, max as isize) as usize) };
    taken.drain(..).map(|message| {
        let taken = Taken(NonNull::new(message).expect("librdkafka's messages"));
        match taken.raw().err {
            rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => Ok(taken),
            code => Err(KafkaError::MessageConsumption(code.into())),
        }
    })
}

/// One record taken from librdkafka, freed when dropped.
pub(super) struct Taken(NonNull<rd::rd_kafka_message_t>);

impl Taken {
    /// librdkafka's message.
    pub(super) fn raw(&self) -> &rd::rd_kafka_message_t {
        unsafe { self.0.as_ref() }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        unsafe { rd::rd_kafka_message_destroy(self.0.as_ptr()) };
    }
}

/// A C string of librdkafka's, as text.
unsafe fn text<'a>(text: *const c_char) -> std::borrow::Cow<'a, str> {
    match text.is_null() {
        true => "".into(),
        false => unsafe { CStr::from_ptr(text) }.to_string_lossy(),
    }
}

/// A syslog level, as rdkafka names it.
fn log_level(level: i32) -> RDKafkaLogLevel {
    match level {
        0 => RDKafkaLogLevel::Emerg,
        1 => RDKafkaLogLevel::Alert,
        2 => RDKafkaLogLevel::Critical,
        3 => RDKafkaLogLevel::Error,
        4 => RDKafkaLogLevel::Warning,
        5 => RDKafkaLogLevel::Notice,
        6 => RDKafkaLogLevel::Info,
        _ => RDKafkaLogLevel::Debug,
    }
}
