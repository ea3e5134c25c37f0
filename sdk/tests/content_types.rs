//! Content negotiation, decoding, encoding and headers (docs/riff-compatibility.md §5.4), over real gRPC on loopback.

mod support;

use std::collections::HashMap;

use riff_function::{
    request_reply, streaming, BoxError, Format, Inputs, Message, Outputs, Payload,
};
use serde_json::json;
use support::*;
use tonic::Code;

/// Replies with the request itself.
fn identity() -> impl riff_function::Function {
    request_reply(|payload: Payload| Ok::<_, String>(payload))
}

/// Replies with a description of how the request decodes, as text.
fn describe() -> impl riff_function::Function {
    request_reply(|payload: Payload| {
        Ok::<_, BoxError>(Payload::from(match payload.format() {
            Format::Json => format!("json {}", payload.json::<serde_json::Value>()?),
            Format::Text => format!("text {}", payload.text()?),
            Format::Bytes => format!("bytes {:?}", payload.bytes().to_vec()),
        }))
    })
}

/// The content type negotiated for `expected` (seen on the reply to one JSON number).
async fn negotiated(expected: &str) -> Result<String, tonic::Status> {
    let address = serve(identity()).await;
    let outcome = call(address, vec![start(&[expected], &[], &[]), json(0, "1")]).await;
    match outcome.status.code() {
        Code::Ok => Ok(outcome.frames[0].content_type.clone()),
        _ => Err(outcome.status),
    }
}

/// How `describe` sees an input of `content_type`.
async fn decoded(content_type: &str, payload: &[u8]) -> Outcome {
    let address = serve(describe()).await;
    call(
        address,
        vec![
            start(&["text/plain"], &["in"], &["out"]),
            frame(0, content_type, payload),
        ],
    )
    .await
}

/// An input frame's content type and payload.
type Input<'a> = (&'a str, &'a [u8]);

/// The bytes `identity` answers for `input` when the output expects `expected`.
async fn encoded(input: Input<'_>, expected: &str) -> Outcome {
    let address = serve(identity()).await;
    let (content_type, payload) = input;
    call(
        address,
        vec![
            start(&[expected], &["in"], &["out"]),
            frame(0, content_type, payload),
        ],
    )
    .await
}

#[tokio::test]
async fn wildcards_negotiate_to_concrete_types() {
    assert_eq!(negotiated("*/*").await.unwrap(), "application/json");
    assert_eq!(
        negotiated("application/*").await.unwrap(),
        "application/json"
    );
    assert_eq!(negotiated("text/*").await.unwrap(), "text/plain");
}

#[tokio::test]
async fn the_first_producible_type_of_a_preference_list_wins() {
    assert_eq!(
        negotiated("image/png, text/plain, application/json")
            .await
            .unwrap(),
        "text/plain"
    );
    assert_eq!(
        negotiated("application/json;q=0.5, application/octet-stream")
            .await
            .unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        negotiated("text/plain;q=0, application/json")
            .await
            .unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn json_suffixes_and_charsets_are_kept_in_the_output_content_type() {
    assert_eq!(
        negotiated("application/cloudevents+json").await.unwrap(),
        "application/cloudevents+json"
    );
    assert_eq!(
        negotiated("text/plain; charset=UTF-8").await.unwrap(),
        "text/plain; charset=utf-8"
    );
}

#[tokio::test]
async fn types_and_charsets_that_cannot_be_produced_are_not_acceptable() {
    for expected in [
        "text/plain; charset=iso-8859-1",
        "image/*",
        "",
        "not a type",
    ] {
        let status = negotiated(expected).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{expected:?}");
        assert!(
            status
                .message()
                .starts_with("Invoker: Not Acceptable: output 0"),
            "{expected:?}: {}",
            status.message()
        );
    }
}

#[tokio::test]
async fn inputs_are_decoded_according_to_their_content_type() {
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "application/json",
            br#"{"a": [1, 2]}"#,
            r#"json {"a":[1,2]}"#,
        ),
        ("application/vnd.acme+json", b"\"x\"", "json \"x\""),
        ("text/plain", "héllo".as_bytes(), "text héllo"),
        ("text/plain; charset=utf-8", b"hi", "text hi"),
        ("application/octet-stream", b"\x00\xff", "bytes [0, 255]"),
        ("", b"AB", "bytes [65, 66]"),
    ];
    for (content_type, payload, description) in cases {
        let outcome = decoded(content_type, payload).await;
        outcome.assert_ok();
        assert_eq!(outcome.payloads(), [description], "{content_type:?}");
    }
}

#[tokio::test]
async fn a_forwarded_payload_keeps_its_bytes_and_content_type() {
    let cases: [(&str, &[u8]); 4] = [
        ("application/json", br#"{"b":1,"a":0.00}"#),
        ("application/json", b" [1,  2.50e0 ] "),
        ("application/cloudevents+json", br#"{"z":"\u00e9"}"#),
        ("text/plain", "  héllo \n".as_bytes()),
    ];
    for (content_type, payload) in cases {
        let outcome = encoded((content_type, payload), content_type).await;
        outcome.assert_ok();
        assert_eq!(outcome.frames[0].payload, payload, "{content_type}");
        assert_eq!(outcome.frames[0].content_type, content_type);
    }
}

#[tokio::test]
async fn a_payload_that_is_never_decoded_is_never_validated() {
    let outcome = encoded(("application/json", b"}{"), "application/json").await;
    outcome.assert_ok();
    assert_eq!(outcome.payloads(), ["}{"]);
}

#[tokio::test]
async fn a_decode_error_the_function_handles_does_not_fail_the_call() {
    let address = serve(request_reply(|payload: Payload| {
        Ok::<_, String>(match payload.json::<f64>() {
            Ok(n) => Payload::from(format!("number {n}")),
            Err(error) => Payload::from(format!("skipped: {error}")),
        })
    }))
    .await;
    let outcome = call(
        address,
        vec![
            start(&["text/plain"], &["in"], &["out"]),
            json(0, "}"),
            json(0, "2.5"),
        ],
    )
    .await;
    outcome.assert_ok();
    assert_eq!(
        outcome.payloads(),
        [
            "skipped: invalid application/json payload: expected value at line 1 column 1",
            "number 2.5"
        ]
    );
}

#[test]
fn payloads_a_function_builds_decode_as_they_were_built() {
    let value = json!({"b": [1, 2.5], "a": "x"});
    let payload = Payload::to_json(&value).unwrap();
    assert_eq!(payload.content_type(), "application/json");
    assert_eq!(payload.json::<serde_json::Value>().unwrap(), value);
    assert_eq!(Payload::from("hi").json::<String>().unwrap(), "hi");
    assert_eq!(
        Payload::from(b"[1]".to_vec()).json::<Vec<u8>>().unwrap(),
        [1]
    );
    assert_eq!(
        Payload::new("application/vnd.acme+json", "7")
            .unwrap()
            .json::<u8>()
            .unwrap(),
        7
    );
    assert!(Payload::new("image/png", "x").is_err());
    let error = Payload::from("héllo").json::<u8>().unwrap_err().to_string();
    assert!(error.starts_with("invalid text/plain payload: "), "{error}");
}

#[tokio::test]
async fn inputs_of_unsupported_types_or_charsets_are_unsupported_media_types() {
    for content_type in ["text/plain; charset=iso-8859-1", "text/html", "garbage"] {
        decoded(content_type, b"x").await.assert_failed(
            Code::InvalidArgument,
            "Invoker: Unsupported Media Type: input 0 (in)",
        );
    }
}

#[tokio::test]
async fn text_that_is_not_utf8_is_a_bad_input_signal() {
    decoded("text/plain", b"\xff\xfe").await.assert_failed(
        Code::Unknown,
        "Invoker: Bad Input Signal: input 0 (in): invalid text/plain payload",
    );
}

#[tokio::test]
async fn values_are_encoded_in_the_negotiated_type() {
    let cases: [(Input, &str, &str); 8] = [
        (
            ("application/json", br#"{"a":1}"#),
            "application/json",
            r#"{"a":1}"#,
        ),
        (
            ("application/json", br#"{"a":1}"#),
            "text/plain",
            r#"{"a":1}"#,
        ),
        (("application/json", br#""hi""#), "text/plain", r#""hi""#),
        (
            ("application/json", br#"{"a":1}"#),
            "application/octet-stream",
            r#"{"a":1}"#,
        ),
        (("text/plain", b"hi"), "application/json", r#""hi""#),
        (("text/plain", b"hi"), "application/octet-stream", "hi"),
        (
            ("application/octet-stream", b"[1,2]"),
            "application/json",
            "[1,2]",
        ),
        (("application/octet-stream", b"hi"), "text/plain", "hi"),
    ];
    for (input, expected, output) in cases {
        let outcome = encoded(input, expected).await;
        outcome.assert_ok();
        assert_eq!(outcome.payloads(), [output], "{input:?} as {expected}");
        assert_eq!(outcome.frames[0].content_type, expected);
    }
}

#[tokio::test]
async fn values_that_cannot_be_encoded_fail_the_call_with_unknown() {
    encoded(("application/octet-stream", b"\xff\xfe"), "text/plain")
        .await
        .assert_failed(
            Code::Unknown,
            "Invoker: Bad Output Signal: output 0: cannot encode the value as text/plain: bytes are not UTF-8",
        );
    encoded(
        ("application/octet-stream", b"not json"),
        "application/json",
    )
    .await
    .assert_failed(
        Code::Unknown,
        "Invoker: Bad Output Signal: output 0: cannot encode the value as application/json",
    );
}

#[tokio::test]
async fn request_reply_copies_the_request_headers_to_the_reply() {
    let address = serve(square()).await;
    let headers = HashMap::from([
        ("traceparent".to_string(), "00-abc-01".to_string()),
        ("x-user".to_string(), "ada".to_string()),
    ]);
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &["in"], &["out"]),
            frame_with_headers(0, "application/json", b"7", headers.clone()),
            json(0, "8"),
        ],
    )
    .await;
    outcome.assert_ok();
    assert_eq!(outcome.payloads(), ["49", "64"]);
    assert_eq!(outcome.frames[0].headers, headers);
    assert!(outcome.frames[1].headers.is_empty());
}

#[tokio::test]
async fn streaming_functions_set_output_headers() {
    let address = serve(streaming(
        |mut inputs: Inputs, mut outputs: Outputs| async move {
            let mut input = inputs.take(0)?;
            let output = outputs.take(0)?;
            let mut count = 0;
            while let Some(message) = input.next().await {
                count += 1;
                let seen = message.headers.get("id").cloned().unwrap_or_default();
                output
                    .send(Message::new(json!(count)).with_header("last-id", seen))
                    .await?;
            }
            Ok::<(), BoxError>(())
        },
    ))
    .await;
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &["in"], &["out"]),
            frame_with_headers(
                0,
                "text/plain",
                b"a",
                HashMap::from([("id".into(), "1".into())]),
            ),
        ],
    )
    .await;
    outcome.assert_ok();
    assert_eq!(outcome.payloads(), ["1"]);
    assert_eq!(
        outcome.frames[0].headers,
        HashMap::from([("last-id".to_string(), "1".to_string())])
    );
}
