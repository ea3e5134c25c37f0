//! The threads processors run on: up to one actix arbiter (a thread with a current-thread
//! runtime) per core, started as processors need them, processors spread over them in turn.
//!
//! A processor's actors, its connections to the function and their HTTP/2 tasks all live on
//! its arbiter, so a call never hops between threads: on a multi-threaded runtime every call
//! went from the actors' thread to a tokio worker and back, a fifth of riff's CPU per count-1
//! call (BENCHMARKS.md). Many processors still use every core.

use std::num::NonZeroUsize;

use actix::prelude::*;
use parking_lot::Mutex;

/// A pool of processor threads, belonging to the actix system it was made in: its arbiters
/// stop when it is dropped (or when the system stops).
pub struct ProcessorThreads {
    /// The threads started so far, and how many processors were given one.
    started: Mutex<(Vec<Arbiter>, usize)>,
    limit: usize,
}

impl ProcessorThreads {
    /// One thread per core, at most.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::new(cores)
    }

    /// At most `limit` threads (at least one).
    pub fn new(limit: usize) -> Self {
        ProcessorThreads {
            started: Mutex::new((Vec::new(), 0)),
            limit: limit.max(1),
        }
    }

    /// The thread the next processor runs on: a new one while fewer than the limit run (inside
    /// an actix system), then each in turn.
    pub fn next(&self) -> ArbiterHandle {
        let (arbiters, given) = &mut *self.started.lock();
        let turn = *given % self.limit;
        *given += 1;
        if turn == arbiters.len() {
            arbiters.push(Arbiter::new());
        }
        arbiters[turn].handle()
    }
}

impl Drop for ProcessorThreads {
    fn drop(&mut self) {
        self.started.get_mut().0.iter().for_each(|arbiter| {
            arbiter.stop();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread a future spawned on `arbiter` runs on.
    async fn thread_of(arbiter: &ArbiterHandle) -> std::thread::ThreadId {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        assert!(arbiter.spawn(async move {
            _ = sender.send(std::thread::current().id());
        }));
        receiver.await.expect("the arbiter ran the future")
    }

    #[actix_rt::test]
    async fn processors_take_the_threads_in_turn_up_to_the_limit() {
        let threads = ProcessorThreads::new(2);
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(thread_of(&threads.next()).await);
        }
        let here = std::thread::current().id();
        assert!(seen.iter().all(|thread| *thread != here), "{seen:?}");
        assert_ne!(seen[0], seen[1]);
        assert_eq!([seen[0], seen[1], seen[0]], [seen[2], seen[3], seen[4]]);
    }

    #[actix_rt::test]
    async fn dropping_the_pool_stops_its_threads() {
        let threads = ProcessorThreads::new(1);
        let arbiter = threads.next();
        thread_of(&arbiter).await;
        drop(threads);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // A stopped arbiter takes no more futures.
        while arbiter.spawn(async {}) {
            assert!(
                std::time::Instant::now() < deadline,
                "the arbiter still runs"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
