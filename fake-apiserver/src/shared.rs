//! State shared by the request handlers and the `FakeApiServer` handle.

use crate::store::Store;
use parking_lot::Mutex;
use tokio::sync::watch;

/// A pending injected failure (see `FakeApiServer::fail_next`).
struct Failure {
    method: String,
    path_contains: String,
    remaining: usize,
    code: u16,
}

/// The store plus change notification, the request log and injected failures.
pub struct Shared {
    store: Mutex<Store>,
    changes: watch::Sender<u64>,
    stopping: watch::Sender<bool>,
    requests: Mutex<Vec<(String, String)>>,
    failures: Mutex<Vec<Failure>>,
}

impl Shared {
    /// Empty state.
    pub fn new() -> Shared {
        Shared {
            store: Mutex::new(Store::default()),
            changes: watch::channel(0).0,
            stopping: watch::channel(false).0,
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with the store locked.
    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.store.lock())
    }

    /// Runs `f` with the store locked for writing, then wakes watchers and log followers.
    /// With `dry_run`, `f` runs on a copy that is then discarded.
    pub fn write<T>(&self, dry_run: bool, f: impl FnOnce(&mut Store) -> T) -> T {
        if dry_run {
            let mut copy = self.store.lock().clone();
            return f(&mut copy);
        }
        let result = f(&mut self.store.lock());
        self.changes.send_modify(|n| *n += 1);
        result
    }

    /// A receiver marked changed after every write.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A receiver that turns `true` when the server stops.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Tells open watches and log streams to end.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Appends to the request log.
    pub fn record_request(&self, method: &str, path_and_query: &str) {
        self.requests
            .lock()
            .push((method.to_string(), path_and_query.to_string()));
    }

    /// The request log.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().clone()
    }

    /// Registers an injected failure.
    pub fn fail_next(&self, method: &str, path_contains: &str, times: usize, code: u16) {
        self.failures.lock().push(Failure {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_string(),
            remaining: times,
            code,
        });
    }

    /// The HTTP code to fail this request with, consuming one injected failure.
    pub fn take_failure(&self, method: &str, path_and_query: &str) -> Option<u16> {
        let mut failures = self.failures.lock();
        let failure = failures.iter_mut().find(|f| {
            f.remaining > 0 && f.method == method && path_and_query.contains(&f.path_contains)
        })?;
        failure.remaining -= 1;
        let code = failure.code;
        failures.retain(|f| f.remaining > 0);
        Some(code)
    }
}
