//! Test harness: a function served on a loopback port, and a riff RPC client (real gRPC).

#![allow(dead_code)] // each test file uses a different part

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use riff_function::{request_reply, BoxError, Function, Payload, RequestReply};
use riff_protocol::riff::riff_client::RiffClient;
use riff_protocol::riff::{
    input_signal, output_signal, InputFrame, InputSignal, OutputFrame, OutputSignal, StartFrame,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Status, Streaming};

/// How long any single step of a test may take.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Serves `function` on a free loopback port for the rest of the test.
pub async fn serve(function: impl Function) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(riff_function::serve_on(
        function,
        listener,
        std::future::pending(),
    ));
    address
}

/// A client of the function at `address`.
pub async fn client(address: SocketAddr) -> RiffClient<Channel> {
    RiffClient::connect(format!("http://{address}"))
        .await
        .unwrap()
}

/// A StartFrame.
pub fn start(expected: &[&str], inputs: &[&str], outputs: &[&str]) -> InputSignal {
    let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
    InputSignal {
        frame: Some(input_signal::Frame::Start(StartFrame {
            expected_content_types: strings(expected),
            input_names: strings(inputs),
            output_names: strings(outputs),
        })),
    }
}

/// An InputFrame.
pub fn frame(arg_index: i32, content_type: &str, payload: &[u8]) -> InputSignal {
    frame_with_headers(arg_index, content_type, payload, HashMap::new())
}

/// An InputFrame with headers.
pub fn frame_with_headers(
    arg_index: i32,
    content_type: &str,
    payload: &[u8],
    headers: HashMap<String, String>,
) -> InputSignal {
    InputSignal {
        frame: Some(input_signal::Frame::Data(InputFrame {
            payload: payload.to_vec().into(),
            content_type: content_type.into(),
            headers,
            arg_index,
        })),
    }
}

/// An `application/json` InputFrame.
pub fn json(arg_index: i32, json: &str) -> InputSignal {
    frame(arg_index, "application/json", json.as_bytes())
}

/// What the caller of a finished call saw: the output frames, then the final status.
#[derive(Debug)]
pub struct Outcome {
    pub frames: Vec<OutputFrame>,
    pub status: Status,
}

impl Outcome {
    /// The payloads as text.
    pub fn payloads(&self) -> Vec<String> {
        self.frames.iter().map(text).collect()
    }

    /// Asserts the call succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.status.code(), Code::Ok, "{:?}", self.status);
        self
    }

    /// Asserts the call failed with `code` and a message starting with `prefix`.
    pub fn assert_failed(&self, code: Code, prefix: &str) -> &Self {
        assert_eq!(self.status.code(), code, "{:?}", self.status);
        assert!(
            self.status.message().starts_with(prefix),
            "message {:?} does not start with {prefix:?}",
            self.status.message()
        );
        self
    }
}

/// A payload as text.
pub fn text(frame: &OutputFrame) -> String {
    String::from_utf8(frame.payload.to_vec()).unwrap()
}

/// Sends `signals`, half-closes, and collects everything the function answers.
pub async fn call(address: SocketAddr, signals: Vec<InputSignal>) -> Outcome {
    let mut client = client(address).await;
    tokio::time::timeout(PATIENCE, async move {
        match client.invoke(tokio_stream::iter(signals)).await {
            Ok(response) => collect(response.into_inner()).await,
            Err(status) => Outcome {
                frames: vec![],
                status,
            },
        }
    })
    .await
    .expect("the call did not end")
}

/// Reads a response to its end.
pub async fn collect(mut responses: Streaming<OutputSignal>) -> Outcome {
    let mut frames = vec![];
    loop {
        match responses.message().await {
            Ok(Some(signal)) => frames.push(data(signal)),
            Ok(None) => {
                break Outcome {
                    frames,
                    status: Status::ok(""),
                }
            }
            Err(status) => break Outcome { frames, status },
        }
    }
}

/// The OutputFrame of an OutputSignal.
pub fn data(signal: OutputSignal) -> OutputFrame {
    match signal.frame {
        Some(output_signal::Frame::Data(frame)) => frame,
        None => panic!("an OutputSignal without a frame"),
    }
}

/// An open call: frames are sent one by one, dropping the sender half-closes it.
pub async fn open(address: SocketAddr) -> (mpsc::Sender<InputSignal>, Streaming<OutputSignal>) {
    let (sender, receiver) = mpsc::channel(16);
    let response = client(address)
        .await
        .invoke(ReceiverStream::new(receiver))
        .await
        .unwrap();
    (sender, response.into_inner())
}

/// The next output frame of an open call.
pub async fn next_frame(responses: &mut Streaming<OutputSignal>) -> OutputFrame {
    let signal = tokio::time::timeout(PATIENCE, responses.message())
        .await
        .expect("no output frame in time")
        .expect("the call failed")
        .expect("the call completed");
    data(signal)
}

/// A request/reply function: the square of a JSON number.
pub fn square() -> RequestReply<impl Fn(Payload) -> Result<Payload, BoxError> + Send + Sync> {
    request_reply(|payload: Payload| {
        let value: serde_json::Value = payload.json()?;
        match (value.as_i64(), value.as_f64()) {
            (Some(n), _) => Ok(serde_json::json!(n * n).into()),
            (None, Some(x)) => Ok(serde_json::json!(x * x).into()),
            _ => Err(format!("not a number: {value}").into()),
        }
    })
}

/// The server still answers a good call after a failed one: `n` in, `expected` out.
pub async fn assert_still_serving(address: SocketAddr, n: &str, expected: &str) {
    let next = call(
        address,
        vec![start(&["application/json"], &[], &[]), json(0, n)],
    )
    .await;
    assert_eq!(next.assert_ok().payloads(), [expected]);
}
