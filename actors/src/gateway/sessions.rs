//! Subscribe sessions: one broker subscription per `Subscribe` call, whose deliveries are
//! demultiplexed per partition for the `Receive` calls of that session.
//!
//! A session reads its subscription only as fast as its partitions' `Receive` calls consume:
//! each partition buffers at most [`FEED_CAPACITY`] records, then the session stops reading the
//! broker (for all its partitions) until that partition's reader catches up.

use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;
use futures::stream::BoxStream;
use futures::StreamExt;
use parking_lot::Mutex;
use riff_protocol::liiklus::{subscribe_reply, Assignment, SubscribeReply};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::events;
use crate::broker::{BrokerError, Delivery};
use crate::message::Record;

/// Records buffered per partition of a session.
const FEED_CAPACITY: usize = 64;

/// The records of one assigned partition of a session. One `Receive` call reads it at a time;
/// a later call for the same assignment resumes where the previous one stopped.
pub(super) type Feed = Arc<tokio::sync::Mutex<mpsc::Receiver<Record>>>;

/// What a `Subscribe` call streams back.
pub(super) type Assignments = ReceiverStream<Result<SubscribeReply, Status>>;

/// The live sessions of a gateway, by session id.
#[derive(Default)]
pub(super) struct Sessions {
    live: DashMap<String, Arc<Session>>,
}

/// One `Subscribe` call: the topic and (broker) group it reads, and its partitions' feeds.
pub(super) struct Session {
    pub(super) topic: String,
    pub(super) group: String,
    feeds: Mutex<HashMap<u32, Feed>>,
}

impl Sessions {
    /// Opens a session over `deliveries` of `group` on `topic`. The returned stream yields one
    /// `Assignment` per assigned partition (again on every rebalance); dropping it ends the
    /// session and so leaves the group.
    pub(super) fn open(
        self: &Arc<Self>,
        topic: String,
        group: String,
        deliveries: BoxStream<'static, Result<Delivery, BrokerError>>,
    ) -> Assignments {
        let id = uuid::Uuid::new_v4().to_string();
        let session = Arc::new(Session {
            topic,
            group,
            feeds: Mutex::default(),
        });
        self.live.insert(id.clone(), Arc::clone(&session));
        let (replies, assignments) = mpsc::channel(FEED_CAPACITY);
        let pump = Pump {
            sessions: Arc::clone(self),
            id,
            session,
            replies,
            feeds: HashMap::new(),
        };
        tokio::spawn(pump.run(deliveries));
        ReceiverStream::new(assignments)
    }

    /// The live session `id`.
    pub(super) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.live.get(id).map(|session| Arc::clone(&session))
    }
}

impl Session {
    /// The feed of `partition`, while it is assigned to this session.
    pub(super) fn feed(&self, partition: u32) -> Option<Feed> {
        self.feeds.lock().get(&partition).cloned()
    }
}

/// Moves a session's deliveries to its subscriber (assignments) and to its feeds (records).
struct Pump {
    sessions: Arc<Sessions>,
    id: String,
    session: Arc<Session>,
    replies: mpsc::Sender<Result<SubscribeReply, Status>>,
    feeds: HashMap<u32, mpsc::Sender<Record>>,
}

impl Pump {
    async fn run(mut self, mut deliveries: BoxStream<'static, Result<Delivery, BrokerError>>) {
        loop {
            let delivery = tokio::select! {
                () = self.replies.closed() => break,
                delivery = deliveries.next() => delivery,
            };
            let go_on = match delivery {
                Some(Ok(Delivery::Assigned(partitions))) => self.assign(partitions).await,
                Some(Ok(Delivery::Revoked(partitions))) => {
                    self.revoke(&partitions);
                    true
                }
                Some(Ok(Delivery::Record(record))) => self.feed(record).await,
                Some(Err(error)) => {
                    // The subscriber may be gone already; the session ends either way.
                    let _ = self.replies.send(Err(events::status(error))).await;
                    false
                }
                None => false,
            };
            if !go_on {
                break;
            }
        }
        self.sessions.live.remove(&self.id);
    }

    async fn assign(&mut self, partitions: Vec<u32>) -> bool {
        for partition in partitions {
            let (sender, receiver) = mpsc::channel(FEED_CAPACITY);
            self.feeds.insert(partition, sender);
            let feed = Arc::new(tokio::sync::Mutex::new(receiver));
            self.session.feeds.lock().insert(partition, feed);
            let assignment = Assignment {
                session_id: self.id.clone(),
                partition,
            };
            let reply = SubscribeReply {
                reply: Some(subscribe_reply::Reply::Assignment(assignment)),
            };
            if self.replies.send(Ok(reply)).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Drops the feeds of `partitions`: their `Receive` calls end once drained.
    fn revoke(&mut self, partitions: &[u32]) {
        let mut feeds = self.session.feeds.lock();
        for partition in partitions {
            self.feeds.remove(partition);
            feeds.remove(partition);
        }
    }

    /// Hands `record` to its partition's feed. A record of a partition that is not assigned
    /// (the broker broke its order) ends the session rather than be dropped: the subscriber
    /// subscribes again and the record, uncommitted, is read again.
    async fn feed(&self, record: Record) -> bool {
        let Some(feed) = self.feeds.get(&record.partition) else {
            tracing::error!(
                topic = %self.session.topic, partition = record.partition, offset = record.offset,
                "record of a partition not assigned to the session; ending the session"
            );
            return false;
        };
        tokio::select! {
            () = self.replies.closed() => false,
            _ = feed.send(record) => true,
        }
    }
}
