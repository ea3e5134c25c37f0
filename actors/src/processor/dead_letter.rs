//! Dead letters: records a processor gives up on are written, unchanged, where an operator can
//! find them, with why and where from in headers. A failure to write one is an error of the
//! caller's (which retries): a record is never dropped.

use crate::message::Record;

use super::{InputBinding, OutputBinding};

/// Why a record is given up.
pub(super) enum GivenUp {
    /// The input stream refuses it (content type, or a payload that does not decode as it):
    /// no attempt could succeed.
    Refused(String),
    /// The function failed it alone on every one of `attempts` attempts.
    Failed { reason: String, attempts: u32 },
    /// It came after every event-time window it belongs to closed.
    Late(String),
}

impl GivenUp {
    fn reason(&self) -> &str {
        match self {
            GivenUp::Refused(reason) | GivenUp::Failed { reason, .. } | GivenUp::Late(reason) => {
                reason
            }
        }
    }
}

/// The topic where records of `topic` that the processor refuses are kept when it has no
/// dead-letter stream.
fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dead-letter")
}

/// Writes `record`, read from `input`, to the processor's dead-letter `stream`, or without one
/// (refused records only) to `<topic>.dead-letter` beside its topic. The record keeps its payload,
/// content type, key and headers, plus `riff-error`, `riff-attempts` (failed records), and its
/// origin `riff-topic`, `riff-partition`, `riff-offset`.
pub(super) async fn dead_letter(
    stream: Option<&OutputBinding>,
    input: &InputBinding,
    mut record: Record,
    why: GivenUp,
) -> Result<(), String> {
    let topic = &input.topic;
    let headers = &mut record.message.headers;
    headers.insert("riff-error".into(), why.reason().to_owned());
    if let GivenUp::Failed { attempts, .. } = &why {
        headers.insert("riff-attempts".into(), attempts.to_string());
    }
    headers.insert("riff-topic".into(), topic.clone());
    headers.insert("riff-partition".into(), record.partition.to_string());
    headers.insert("riff-offset".into(), record.offset.to_string());
    let (broker, dead_letters) = match stream {
        Some(stream) => (&stream.broker, stream.topic.clone()),
        None => (&input.broker, dead_letter_topic(topic)),
    };
    let (partition, offset, reason) = (record.partition, record.offset, why.reason());
    match &why {
        GivenUp::Refused(_) => tracing::error!(
            %topic, partition, offset, %reason, %dead_letters,
            "record refused; moved to the dead-letter topic"
        ),
        GivenUp::Failed { attempts, .. } => tracing::error!(
            %topic, partition, offset, %reason, attempts, %dead_letters,
            "record failed every attempt; moved to the dead-letter topic"
        ),
        GivenUp::Late(_) => tracing::warn!(
            %topic, partition, offset, %reason, %dead_letters,
            "late record moved to the dead-letter stream"
        ),
    }
    let moved = async {
        if stream.is_none() {
            broker.provision(&dead_letters, 1, "*/*").await?;
        }
        broker.publish(&dead_letters, record.message).await
    };
    moved
        .await
        .map(|_| ())
        .map_err(|error| format!("cannot move a record to its dead-letter topic: {error}"))
}
