//! A bounded queue between the parts of one invocation (the dispatch of input frames to an
//! input, the outputs to the response): many senders, one receiver. It is cheaper than a tokio
//! channel where it matters here: a side registers a waker only when it has to wait, so a
//! sender and a receiver polled by the same task (the usual case) never wake each other, and
//! the receiver takes all queued items at once.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// A queue of at most `capacity` items (plus those the receiver took and has not returned yet).
pub(crate) fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        items: VecDeque::with_capacity(capacity),
        capacity,
        senders: 1,
        receiving: true,
        receiver: None,
        waiting: Vec::new(),
    }));
    let taken = VecDeque::with_capacity(capacity);
    (Sender(shared.clone()), Receiver { shared, taken })
}

struct State<T> {
    items: VecDeque<T>,
    capacity: usize,
    senders: usize,
    /// Whether the receiver is still there.
    receiving: bool,
    /// The receiver, waiting for an item.
    receiver: Option<Waker>,
    /// Senders waiting for room.
    waiting: Vec<Waker>,
}

fn lock<T>(shared: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sending side; the queue completes when every sender is dropped.
pub(crate) struct Sender<T>(Arc<Mutex<State<T>>>);

impl<T> Sender<T> {
    /// Sends `item`, waiting for room; gives it back if the receiver is gone.
    pub(crate) async fn send(&self, item: T) -> Result<(), T> {
        let mut item = Some(item);
        poll_fn(|cx| {
            let mut state = lock(&self.0);
            let Some(taken) = item.take() else {
                unreachable!("polled after completion")
            };
            if !state.receiving {
                return Poll::Ready(Err(taken));
            }
            if state.items.len() < state.capacity {
                state.items.push_back(taken);
                let receiver = state.receiver.take();
                drop(state);
                receiver.into_iter().for_each(Waker::wake);
                return Poll::Ready(Ok(()));
            }
            item = Some(taken);
            if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                state.waiting.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.0).senders += 1;
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.0);
        state.senders -= 1;
        let receiver = (state.senders == 0)
            .then(|| state.receiver.take())
            .flatten();
        drop(state);
        receiver.into_iter().for_each(Waker::wake);
    }
}

/// The receiving side; dropping it discards the items and fails later sends.
pub(crate) struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
    /// The items taken from the queue in one go, returned one by one.
    taken: VecDeque<T>,
}

impl<T> Receiver<T> {
    /// The next item if there is one now (`None` also once every sender is gone).
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        match self.next(None) {
            Poll::Ready(item) => item,
            Poll::Pending => None,
        }
    }

    /// The next item; `None` once the queue is empty and every sender is gone.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.next(Some(cx.waker()))
    }

    /// The next item, `waker` to be woken when there is none yet.
    fn next(&mut self, waker: Option<&Waker>) -> Poll<Option<T>> {
        if let Some(item) = self.taken.pop_front() {
            return Poll::Ready(Some(item));
        }
        let mut state = lock(&self.shared);
        if !state.items.is_empty() {
            std::mem::swap(&mut self.taken, &mut state.items);
            let waiting = std::mem::take(&mut state.waiting);
            drop(state);
            waiting.into_iter().for_each(Waker::wake);
            return Poll::Ready(self.taken.pop_front());
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        if let Some(waker) = waker {
            if !state.receiver.as_ref().is_some_and(|w| w.will_wake(waker)) {
                state.receiver = Some(waker.clone());
            }
        }
        Poll::Pending
    }

    /// The next item; `None` once the queue is empty and every sender is gone. Cancel safe.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        state.receiving = false;
        let items = std::mem::take(&mut state.items);
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        drop(items);
        waiting.into_iter().for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::timeout;

    use super::*;

    const SOON: Duration = Duration::from_millis(50);

    #[tokio::test]
    async fn a_sender_waits_for_room_and_the_receiver_for_items() {
        let (sender, mut receiver) = queue(1);
        sender.send(1).await.unwrap();
        assert!(
            timeout(SOON, sender.send(2)).await.is_err(),
            "sent to a full queue"
        );
        let waiting = tokio::spawn(async move {
            sender.send(3).await.unwrap();
            sender
        });
        assert_eq!(receiver.recv().await, Some(1));
        assert_eq!(receiver.recv().await, Some(3));
        let sender = waiting.await.unwrap();
        assert!(
            timeout(SOON, receiver.recv()).await.is_err(),
            "received nothing"
        );
        drop(sender);
        assert_eq!(receiver.recv().await, None);
    }

    #[tokio::test]
    async fn the_queue_completes_when_the_last_sender_goes() {
        let (sender, mut receiver) = queue(4);
        let other = sender.clone();
        drop(sender);
        other.send(1).await.unwrap();
        drop(other);
        assert_eq!(receiver.recv().await, Some(1));
        assert_eq!(receiver.recv().await, None);
    }

    #[tokio::test]
    async fn sends_fail_once_the_receiver_is_gone_even_while_waiting() {
        let (sender, receiver) = queue(1);
        sender.send(1).await.unwrap();
        let waiting = tokio::spawn(async move { sender.send(2).await });
        tokio::time::sleep(SOON).await;
        drop(receiver);
        assert_eq!(waiting.await.unwrap(), Err(2));
    }
}
