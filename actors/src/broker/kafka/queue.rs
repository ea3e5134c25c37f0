//! Hands records to librdkafka's producer queue in call order without ever blocking the caller's
//! thread: when the queue is full, the record and every later one wait in a backlog that a task
//! drains asynchronously as the queue frees up (Vector's answer to a full queue).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use tokio::sync::oneshot;

use super::diagnostics::Diagnostics;
use super::records;
use crate::broker::BrokerError;
use crate::message::Message;

/// How long a record may wait for room in the queue before its publish fails.
const FULL_FOR: Duration = Duration::from_secs(30);
/// How often the backlog tries the queue again while it is full.
const RETRY: Duration = Duration::from_millis(1);

/// A record handed to librdkafka now, refused by it, or waiting in the backlog for room.
pub(super) enum Enqueued {
    Now(DeliveryFuture),
    Refused(BrokerError),
    Later(oneshot::Receiver<Result<DeliveryFuture, BrokerError>>),
}

impl Enqueued {
    /// The record's delivery future, once it is in librdkafka's queue.
    pub(super) async fn delivery(self) -> Result<DeliveryFuture, BrokerError> {
        match self {
            Enqueued::Now(delivery) => Ok(delivery),
            Enqueued::Refused(error) => Err(error),
            Enqueued::Later(queued) => queued
                .await
                .map_err(|_| BrokerError::Unavailable("the producer was closed".into()))?,
        }
    }
}

/// One record waiting for room.
struct Waiting {
    topic: String,
    message: Message,
    since: Instant,
    done: oneshot::Sender<Result<DeliveryFuture, BrokerError>>,
}

/// The producer and the records waiting for room in its queue, in call order.
pub(super) struct OrderedQueue {
    producer: FutureProducer<Diagnostics>,
    backlog: Arc<Mutex<VecDeque<Waiting>>>,
}

impl OrderedQueue {
    pub(super) fn new(producer: FutureProducer<Diagnostics>) -> Self {
        OrderedQueue {
            producer,
            backlog: Arc::default(),
        }
    }

    /// Enqueues `message` after every record enqueued before it.
    pub(super) fn enqueue(&self, topic: &str, message: Message) -> Enqueued {
        let mut backlog = self.backlog.lock();
        if backlog.is_empty() {
            match try_send(&self.producer, topic, &message) {
                Ok(delivery) => return Enqueued::Now(delivery),
                Err(Some(error)) => return Enqueued::Refused(error),
                Err(None) => {
                    tokio::spawn(drain(self.producer.clone(), self.backlog.clone()));
                }
            }
        }
        let (done, queued) = oneshot::channel();
        backlog.push_back(Waiting {
            topic: topic.to_owned(),
            message,
            since: Instant::now(),
            done,
        });
        Enqueued::Later(queued)
    }
}

/// Moves the backlog into librdkafka's queue as room frees up; ends when it is empty.
async fn drain(producer: FutureProducer<Diagnostics>, backlog: Arc<Mutex<VecDeque<Waiting>>>) {
    loop {
        {
            let mut backlog = backlog.lock();
            while let Some(waiting) = backlog.front() {
                let sent = match try_send(&producer, &waiting.topic, &waiting.message) {
                    Err(None) if waiting.since.elapsed() < FULL_FOR => break,
                    Err(None) => Err(BrokerError::Unavailable(format!(
                        "librdkafka's producer queue stayed full for {FULL_FOR:?}"
                    ))),
                    Err(Some(error)) => Err(error),
                    Ok(delivery) => Ok(delivery),
                };
                let waiting = backlog.pop_front().expect("looked at above");
                _ = waiting.done.send(sent);
            }
            if backlog.is_empty() {
                return;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Hands one record to librdkafka: `Err(None)` when its queue is full.
fn try_send(
    producer: &FutureProducer<Diagnostics>,
    topic: &str,
    message: &Message,
) -> Result<DeliveryFuture, Option<BrokerError>> {
    let (key, headers) = records::encode(message);
    let mut record = FutureRecord::to(topic)
        .payload(message.payload.as_ref())
        .headers(headers);
    if let Some(key) = key.as_deref() {
        record = record.key(key);
    }
    producer
        .send_result(record)
        .map_err(|(error, _)| match error {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => None,
            error => Some(super::unavailable(error)),
        })
}
