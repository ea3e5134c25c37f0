//! A consumer group's committed positions, read and written from outside the group: librdkafka's
//! ListConsumerGroupOffsets and AlterConsumerGroupOffsets admin calls (which the rdkafka crate
//! does not wrap), through any client of the cluster: [`AdminCalls`] makes them from async code
//! with no thread waiting on them (a hundred processors committing at once hold no hundred
//! blocked threads).

use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;

use super::diagnostics::Diagnostics;
use super::RdQueue;
use super::TIMEOUT;
use crate::broker::{BrokerError, Committer};

/// Commits a group's positions from outside the group, one AlterConsumerGroupOffsets request
/// each, through the admin calls of any client of the cluster (no consumer of its own).
pub(super) struct OutsideCommitter {
    calls: Arc<AdminCalls>,
    topic: String,
    group: String,
}

impl OutsideCommitter {
    /// Commits of `group` on `topic` through `calls`.
    pub(super) fn new(calls: Arc<AdminCalls>, topic: &str, group: &str) -> Self {
        let (topic, group) = (topic.to_owned(), group.to_owned());
        OutsideCommitter {
            calls,
            topic,
            group,
        }
    }
}

#[async_trait]
impl Committer for OutsideCommitter {
    /// Commits "last processed offset" `positions`.
    async fn commit(&self, positions: &[(u32, u64)]) -> Result<(), BrokerError> {
        let next: Vec<(i32, i64)> = positions
            .iter()
            .map(|&(partition, offset)| Ok((partition as i32, super::next_offset(offset)?)))
            .collect::<Result<_, BrokerError>>()?;
        let (group, topic) = (&self.group, &self.topic);
        self.calls
            .alter(group, topic, &next, TIMEOUT)
            .await
            .map_err(|error| {
                BrokerError::Unavailable(format!("cannot commit for group {group:?}: {error}"))
            })
    }
}

/// Admin calls of one client made from async code: each call's answer comes to one queue,
/// which one thread polls and hands each answer to its caller.
pub(super) struct AdminCalls {
    /// Shared with the poller thread; released, after it ended, before the client.
    answers: Arc<RdQueue>,
    client: Arc<BaseConsumer<Diagnostics>>,
    stopped: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

/// Where a call's answer goes: passed to librdkafka as the call's opaque, taken back by the
/// poller.
type Waiter = oneshot::Sender<Answer>;

impl AdminCalls {
    /// Admin calls through `client`, with the thread that hands their answers over.
    pub(super) fn new(client: Arc<BaseConsumer<Diagnostics>>) -> std::io::Result<Self> {
        let answers = RdQueue::new(unsafe { rd::rd_kafka_queue_new(client.client().native_ptr()) })
            .map(Arc::new)
            .expect("librdkafka makes a queue");
        let stopped = Arc::new(AtomicBool::new(false));
        let poller = {
            let (answers, stopped) = (answers.clone(), stopped.clone());
            std::thread::Builder::new()
                .name("riff-admin-answers".into())
                .spawn(move || hand_over_answers(&answers, &stopped))?
        };
        Ok(AdminCalls {
            answers,
            client,
            stopped,
            poller: Some(poller),
        })
    }

    /// The client the calls go through.
    pub(super) fn client(&self) -> &Arc<BaseConsumer<Diagnostics>> {
        &self.client
    }

    /// The next offset to read of each partition of `partitions` on `topic` that `group`
    /// committed.
    pub(super) async fn list(
        &self,
        group: &str,
        topic: &str,
        partitions: &[i32],
        timeout: Duration,
    ) -> Result<Vec<(i32, i64)>, String> {
        let (list, group_id) = (partition_list(topic, partitions), c_string(group)?);
        let found = self
            .call(timeout, |rk, options, queue| unsafe {
                list_request(rk, &group_id, &list, options, queue)
            })
            .await?;
        found.listed()
    }

    /// Stores `positions` (partition, next offset to read) on `topic` as `group`'s committed
    /// ones. Kafka refuses it while the group has live members.
    pub(super) async fn alter(
        &self,
        group: &str,
        topic: &str,
        positions: &[(i32, i64)],
        timeout: Duration,
    ) -> Result<(), String> {
        let (list, group_id) = (position_list(topic, positions)?, c_string(group)?);
        let done = self
            .call(timeout, |rk, options, queue| unsafe {
                alter_request(rk, &group_id, &list, options, queue)
            })
            .await?;
        done.altered()
    }

    /// Makes one admin call (`request` enqueues it with the options and the queue it is given)
    /// and waits for its answer, handed over by the poller. librdkafka ends the request itself
    /// after `timeout` (with an error), and the wait lasts a little longer: a call is never left
    /// behind in librdkafka, to be carried out after riff reported it failed (a late commit could
    /// land after a newer one).
    async fn call(
        &self,
        timeout: Duration,
        request: impl FnOnce(
            *mut rd::rd_kafka_t,
            *mut rd::rd_kafka_AdminOptions_t,
            *mut rd::rd_kafka_queue_t,
        ),
    ) -> Result<Answer, String> {
        let (waiter, answer) = oneshot::channel::<Answer>();
        let waiter = Box::into_raw(Box::new(waiter));
        let made = enqueue(
            &self.client,
            timeout,
            waiter.cast(),
            self.answers.as_ptr(),
            request,
        );
        if let Err(error) = made {
            // SAFETY: the call was not made, so librdkafka never took the waiter.
            drop(unsafe { Box::from_raw(waiter) });
            return Err(error);
        }
        // librdkafka answers every call, by its own timeout at the latest.
        match tokio::time::timeout(timeout + ANSWER_MARGIN, answer).await {
            Ok(Ok(answer)) => answer.checked(),
            Ok(Err(_)) => Err("the admin call was dropped unanswered".into()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }
}

impl Drop for AdminCalls {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Relaxed);
        unsafe { rd::rd_kafka_queue_yield(self.answers.as_ptr()) };
        if let Some(poller) = self.poller.take() {
            _ = poller.join();
        }
    }
}

/// The poller thread: hands each answer on `answers` to its waiter until `stopped`.
fn hand_over_answers(answers: &RdQueue, stopped: &AtomicBool) {
    while !stopped.load(Ordering::Relaxed) {
        let event = unsafe { rd::rd_kafka_queue_poll(answers.as_ptr(), 1000) };
        if event.is_null() {
            continue;
        }
        let answer = Answer { event };
        let waiter = unsafe { rd::rd_kafka_event_opaque(event) } as *mut Waiter;
        if !waiter.is_null() {
            // SAFETY: every call on this queue passed a boxed waiter as its opaque, and
            // librdkafka answers each call once.
            let waiter = unsafe { Box::from_raw(waiter) };
            _ = waiter.send(answer);
        }
    }
}

fn partition_list(topic: &str, partitions: &[i32]) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for &partition in partitions {
        list.add_partition(topic, partition);
    }
    list
}

fn position_list(topic: &str, positions: &[(i32, i64)]) -> Result<TopicPartitionList, String> {
    let mut list = TopicPartitionList::new();
    for &(partition, next) in positions {
        list.add_partition_offset(topic, partition, Offset::Offset(next))
            .map_err(|e| e.to_string())?;
    }
    Ok(list)
}

fn c_string(text: &str) -> Result<CString, String> {
    CString::new(text).map_err(|e| e.to_string())
}

/// Enqueues a ListConsumerGroupOffsets request of `group` for `list`.
unsafe fn list_request(
    rk: *mut rd::rd_kafka_t,
    group: &CString,
    list: &TopicPartitionList,
    options: *mut rd::rd_kafka_AdminOptions_t,
    queue: *mut rd::rd_kafka_queue_t,
) {
    let mut request = rd::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), list.ptr());
    rd::rd_kafka_ListConsumerGroupOffsets(rk, &mut request, 1, options, queue);
    rd::rd_kafka_ListConsumerGroupOffsets_destroy(request);
}

/// Enqueues an AlterConsumerGroupOffsets request of `group` for `list`.
unsafe fn alter_request(
    rk: *mut rd::rd_kafka_t,
    group: &CString,
    list: &TopicPartitionList,
    options: *mut rd::rd_kafka_AdminOptions_t,
    queue: *mut rd::rd_kafka_queue_t,
) {
    let mut request = rd::rd_kafka_AlterConsumerGroupOffsets_new(group.as_ptr(), list.ptr());
    rd::rd_kafka_AlterConsumerGroupOffsets(rk, &mut request, 1, options, queue);
    rd::rd_kafka_AlterConsumerGroupOffsets_destroy(request);
}

/// The result event of one admin call, destroyed with it.
struct Answer {
    event: *mut rd::rd_kafka_event_t,
}

// SAFETY: an event is owned by whoever holds it and may be read and destroyed on any thread.
unsafe impl Send for Answer {}

impl Drop for Answer {
    fn drop(&mut self) {
        unsafe { rd::rd_kafka_event_destroy(self.event) }
    }
}

impl Answer {
    /// The answer, or the call's error.
    fn checked(self) -> Result<Self, String> {
        unsafe {
            if rd::rd_kafka_event_error(self.event)
                != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                return Err(text(rd::rd_kafka_event_error_string(self.event)));
            }
        }
        Ok(self)
    }

    /// The positions a ListConsumerGroupOffsets call found.
    fn listed(&self) -> Result<Vec<(i32, i64)>, String> {
        self.positions(|event, count| unsafe {
            let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event);
            rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, count)
        })
    }

    /// Whether an AlterConsumerGroupOffsets call stored every position.
    fn altered(&self) -> Result<(), String> {
        self.positions(|event, count| unsafe {
            let result = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(event);
            rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, count)
        })
        .map(|_| ())
    }

    /// The positions of the one group of the answer (`groups` gives its group results), or the
    /// first error: of the group, or of one of its partitions.
    fn positions(
        &self,
        groups: impl FnOnce(
            *mut rd::rd_kafka_event_t,
            *mut usize,
        ) -> *mut *const rd::rd_kafka_group_result_t,
    ) -> Result<Vec<(i32, i64)>, String> {
        unsafe {
            let mut count = 0usize;
            let results = groups(self.event, &mut count);
            if results.is_null() || count != 1 {
                return Err(format!("{count} group results for one group"));
            }
            let group = *results;
            let error = rd::rd_kafka_group_result_error(group);
            if !error.is_null() {
                return Err(text(rd::rd_kafka_error_string(error)));
            }
            let list = rd::rd_kafka_group_result_partitions(group);
            if list.is_null() {
                return Ok(Vec::new());
            }
            let elements = std::slice::from_raw_parts((*list).elems, (*list).cnt.max(0) as usize);
            let mut positions = Vec::new();
            for element in elements {
                if element.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    return Err(format!(
                        "partition {}: {}",
                        element.partition,
                        text(rd::rd_kafka_err2str(element.err))
                    ));
                }
                if element.offset >= 0 {
                    positions.push((element.partition, element.offset));
                }
            }
            Ok(positions)
        }
    }
}

/// Enqueues one admin call (`request` makes it with the options and the queue it is given),
/// its answer to come to `queue` with `opaque`, after `timeout` at the latest (librdkafka's own
/// request timeout).
fn enqueue<C: ConsumerContext>(
    client: &BaseConsumer<C>,
    timeout: Duration,
    opaque: *mut c_void,
    queue: *mut rd::rd_kafka_queue_t,
    request: impl FnOnce(
        *mut rd::rd_kafka_t,
        *mut rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<(), String> {
    let rk = client.client().native_ptr();
    unsafe {
        let options =
            rd::rd_kafka_AdminOptions_new(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ANY);
        let mut error = [0 as std::os::raw::c_char; 256];
        let set = rd::rd_kafka_AdminOptions_set_request_timeout(
            options,
            millis(timeout),
            error.as_mut_ptr(),
            error.len(),
        );
        if set != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            rd::rd_kafka_AdminOptions_destroy(options);
            return Err(text(error.as_ptr()));
        }
        rd::rd_kafka_AdminOptions_set_opaque(options, opaque);
        request(rk, options, queue);
        rd::rd_kafka_AdminOptions_destroy(options);
    }
    Ok(())
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

/// How much longer than its request's timeout an admin call waits for librdkafka's answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// A C string of librdkafka's, copied.
fn text(text: *const std::os::raw::c_char) -> String {
    if text.is_null() {
        return "unknown error".to_owned();
    }
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}
