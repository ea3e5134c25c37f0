//! The loopback ports of the function processes: each one free when handed out, and never
//! handed to two functions at once. (The kernel may give the same free port to two `bind` calls
//! made one after the other; a hundred processors started together then had two functions on
//! one port: the second one failed to listen, and its processor called the first one's
//! function instead of its own.)

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

/// The ports held by running functions of this process.
static HELD: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Mutex::default);

/// A port held for one function until dropped.
#[derive(Debug)]
pub struct FunctionPort(u16);

impl FunctionPort {
    /// A free loopback port no other function of this process holds.
    pub fn take() -> std::io::Result<Self> {
        loop {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            if HELD.lock().expect("the port registry").insert(port) {
                return Ok(FunctionPort(port));
            }
        }
    }

    /// The port number.
    pub fn number(&self) -> u16 {
        self.0
    }
}

impl Drop for FunctionPort {
    fn drop(&mut self) {
        HELD.lock().expect("the port registry").remove(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_functions_hold_one_port() {
        let ports: Vec<FunctionPort> = (0..2000).map(|_| FunctionPort::take().unwrap()).collect();
        let distinct: HashSet<u16> = ports.iter().map(FunctionPort::number).collect();
        assert_eq!(distinct.len(), ports.len());
    }
}
