//! Loopback ports and a plain HTTP/1.1 exchange.

use std::io::{Read, Write};

/// A free loopback port.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("its address").port()
}

/// An HTTP/1.1 exchange with a server on loopback `port`: `(status, body)`.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut connection = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|error| panic!("nothing listens on {port}: {error}"));
    write!(
        connection,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}
