//! Invoker conformance (docs/riff-compatibility.md §9, behaviours 50-59 of docs/riff-compatibility.md; 49 is tested on the sample binaries in
//! `functions/tests`), over real gRPC on loopback.

mod support;

use std::time::{Duration, Instant};

use futures::future::try_join_all;
use riff_function::{streaming, BoxError, Error, Inputs, Message, Outputs, Payload};
use serde_json::json;
use support::*;
use tonic::Code;

/// Forwards input i to output i, all inputs concurrently.
fn echo_each() -> impl riff_function::Function {
    streaming(|mut inputs: Inputs, mut outputs: Outputs| async move {
        let pairs = (0..inputs.len())
            .map(|index| Ok((inputs.take(index)?, outputs.take(index)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        try_join_all(pairs.into_iter().map(|(mut input, output)| async move {
            while let Some(message) = input.next().await {
                output.send(message).await?;
            }
            Ok::<(), Error>(())
        }))
        .await?;
        Ok::<(), BoxError>(())
    })
}

/// Emits the running sum of input 0 (JSON numbers) on output 0.
fn running_sum() -> impl riff_function::Function {
    streaming(|mut inputs: Inputs, mut outputs: Outputs| async move {
        let mut input = inputs.take(0)?;
        let output = outputs.take(0)?;
        let mut sum = 0;
        while let Some(message) = input.next().await {
            sum += message.payload.json::<i64>()?;
            output.send(Payload::from(json!(sum))).await?;
        }
        Ok::<(), BoxError>(())
    })
}

#[tokio::test]
async fn b50_first_frame_not_a_start_frame_fails_the_call_and_the_server_keeps_serving() {
    let address = serve(square()).await;

    call(address, vec![json(0, "2")])
        .await
        .assert_failed(Code::Unknown, "Invoker: Protocol Violation:");

    assert_still_serving(address, "2", "4").await;
}

#[tokio::test]
async fn b51_a_second_start_frame_fails_the_call() {
    let address = serve(square()).await;
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &["in"], &["out"]),
            json(0, "2"),
            start(&["application/json"], &["in"], &["out"]),
            json(0, "3"),
        ],
    )
    .await;
    outcome.assert_failed(Code::Unknown, "Invoker: Protocol Violation:");
    assert!(!outcome.payloads().contains(&"9".to_string()));
}

#[tokio::test]
async fn b52_an_input_frame_of_an_unsupported_content_type_is_invalid_argument() {
    let address = serve(square()).await;
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &["in"], &["out"]),
            frame(0, "image/png", b"\x89PNG"),
        ],
    )
    .await;
    outcome.assert_failed(Code::InvalidArgument, "Invoker: Unsupported Media Type: ");
    assert!(outcome.status.message().contains("image/png"));
}

#[tokio::test]
async fn b53_an_expected_content_type_that_cannot_be_produced_is_not_acceptable() {
    let address = serve(square()).await;
    let outcome = call(
        address,
        vec![start(&["image/png"], &["in"], &["out"]), json(0, "2")],
    )
    .await;
    outcome.assert_failed(Code::InvalidArgument, "Invoker: Not Acceptable: ");
    assert!(outcome.status.message().contains("image/png"));
    assert!(outcome.frames.is_empty());
}

#[tokio::test]
async fn b54_an_undecodable_payload_fails_the_call_with_unknown_naming_the_input() {
    let address = serve(square()).await;
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &["numbers"], &["squares"]),
            json(0, "}"),
        ],
    )
    .await;
    outcome.assert_failed(
        Code::Unknown,
        "Invoker: Bad Input Signal: input 0 (numbers): invalid application/json payload: ",
    );
}

#[tokio::test]
async fn b55_output_frames_carry_the_result_index_and_a_concrete_content_type() {
    let address = serve(echo_each()).await;
    let outcome = call(
        address,
        vec![
            start(
                &["*/*", "text/*", "application/octet-stream"],
                &["a", "b", "c"],
                &["x", "y", "z"],
            ),
            json(2, "\"c\""),
            json(0, "\"a\""),
            frame(1, "text/plain", b"b"),
        ],
    )
    .await;
    outcome.assert_ok();
    let mut seen: Vec<_> = outcome
        .frames
        .iter()
        .map(|frame| (frame.result_index, frame.content_type.as_str(), text(frame)))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (0, "application/json", "\"a\"".to_string()),
            (1, "text/plain", "b".to_string()),
            (2, "application/octet-stream", "\"c\"".to_string()),
        ]
    );
}

#[tokio::test]
async fn b56_order_is_kept_per_arg_index_in_and_per_result_index_out() {
    assert_order_kept(&["application/json", "application/json"], 200).await;
}

#[tokio::test]
async fn order_and_counts_hold_when_inputs_and_the_response_are_full() {
    assert_order_kept(&["application/json", "text/plain"], 5000).await;
}

/// `count` frames alternating between two inputs come back on the two outputs (of types
/// `accepted`), each in the order it was sent.
async fn assert_order_kept(accepted: &[&str], count: i32) {
    let address = serve(echo_each()).await;
    let mut signals = vec![start(accepted, &["left", "right"], &["left", "right"])];
    signals.extend((0..count).map(|i| json(i % 2, &i.to_string())));
    let outcome = call(address, signals).await;
    outcome.assert_ok();
    for output in 0..2 {
        let received: Vec<i32> = outcome
            .frames
            .iter()
            .filter(|frame| frame.result_index == output)
            .map(|frame| text(frame).parse().unwrap())
            .collect();
        let sent: Vec<i32> = (0..count).filter(|i| i % 2 == output).collect();
        assert_eq!(received, sent, "output {output}");
    }
}

#[tokio::test]
async fn b57_half_close_completes_the_inputs_and_the_response_completes_after_the_outputs() {
    let address = serve(streaming(
        |mut inputs: Inputs, mut outputs: Outputs| async move {
            let mut input = inputs.take(0)?;
            let output = outputs.take(0)?;
            let mut count = 0;
            while input.next().await.is_some() {
                count += 1;
            }
            output.send(Payload::from(json!(count))).await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            output.send(Payload::from("last")).await?;
            Ok::<(), BoxError>(())
        },
    ))
    .await;
    let (sender, mut responses) = open(address).await;
    sender
        .send(start(&["application/json"], &["in"], &["out"]))
        .await
        .unwrap();
    for n in 0..3 {
        sender.send(json(0, &n.to_string())).await.unwrap();
    }

    // The input is still open: the function is still reading, nothing is answered.
    let early = tokio::time::timeout(Duration::from_millis(300), responses.message()).await;
    assert!(early.is_err(), "answered before the half-close: {early:?}");

    drop(sender);
    assert_eq!(text(&next_frame(&mut responses).await), "3");
    let counted = Instant::now();
    assert_eq!(text(&next_frame(&mut responses).await), "\"last\"");
    assert!(counted.elapsed() >= Duration::from_millis(250));
    let end = collect(responses).await;
    end.assert_ok();
    assert!(end.frames.is_empty());
}

#[tokio::test]
async fn b58_a_request_reply_square_answers_2_3_with_4_9_in_order() {
    let address = serve(square()).await;
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &[], &[]),
            json(0, "2"),
            json(0, "3"),
        ],
    )
    .await;
    outcome.assert_ok();
    assert_eq!(outcome.payloads(), ["4", "9"]);
    assert!(outcome
        .frames
        .iter()
        .all(|frame| frame.result_index == 0 && frame.content_type == "application/json"));
}

#[tokio::test]
async fn b59_concurrent_calls_share_no_per_invocation_state() {
    let address = serve(running_sum()).await;
    let (a, mut a_out) = open(address).await;
    let (b, mut b_out) = open(address).await;
    for sender in [&a, &b] {
        sender
            .send(start(&["application/json"], &["in"], &["out"]))
            .await
            .unwrap();
    }
    let steps = [
        (&a, 1, "1"),
        (&b, 10, "10"),
        (&a, 2, "3"),
        (&b, 20, "30"),
        (&a, 3, "6"),
    ];
    for (sender, value, expected_sum) in steps {
        sender.send(json(0, &value.to_string())).await.unwrap();
        let responses = if std::ptr::eq(sender, &a) {
            &mut a_out
        } else {
            &mut b_out
        };
        assert_eq!(text(&next_frame(responses).await), expected_sum);
    }
    drop((a, b));
    collect(a_out).await.assert_ok();
    collect(b_out).await.assert_ok();
}

#[tokio::test]
async fn an_arg_index_out_of_range_or_negative_is_a_protocol_violation() {
    let address = serve(square()).await;
    for arg_index in [1, -1] {
        let outcome = call(
            address,
            vec![
                start(&["application/json"], &["in"], &["out"]),
                json(arg_index, "2"),
            ],
        )
        .await;
        outcome.assert_failed(
            Code::Unknown,
            &format!("Invoker: Protocol Violation: argIndex {arg_index} is out of range"),
        );
    }
}

#[tokio::test]
async fn output_names_not_matching_expected_content_types_is_a_protocol_violation() {
    let address = serve(square()).await;
    call(
        address,
        vec![
            start(&["application/json"], &["in"], &["out", "extra"]),
            json(0, "2"),
        ],
    )
    .await
    .assert_failed(Code::Unknown, "Invoker: Protocol Violation: ");
}

#[tokio::test]
async fn an_input_that_completes_without_a_start_frame_is_a_protocol_violation() {
    let address = serve(square()).await;
    call(address, vec![])
        .await
        .assert_failed(Code::Unknown, "Invoker: Protocol Violation: ");
}

#[tokio::test]
async fn a_function_error_fails_the_call_with_unknown_and_the_server_keeps_serving() {
    let address = serve(square()).await;
    let outcome = call(
        address,
        vec![
            start(&["application/json"], &["in"], &["out"]),
            json(0, "2"),
            json(0, "\"two\""),
            json(0, "3"),
        ],
    )
    .await;
    outcome.assert_failed(
        Code::Unknown,
        "Invoker: Function Error: not a number: \"two\"",
    );
    assert_eq!(outcome.payloads(), ["4"]);

    assert_still_serving(address, "5", "25").await;
}

#[tokio::test]
async fn a_panicking_function_fails_the_call_and_the_server_keeps_serving() {
    let address = serve(streaming(|_: Inputs, _: Outputs| async move {
        if true {
            panic!("boom");
        }
        Ok::<(), BoxError>(())
    }))
    .await;
    for _ in 0..2 {
        call(address, vec![start(&["application/json"], &[], &[])])
            .await
            .assert_failed(
                Code::Unknown,
                "Invoker: Function Error: the function panicked: boom",
            );
    }
}

#[tokio::test]
async fn a_request_reply_function_with_two_inputs_fails_the_call() {
    let address = serve(square()).await;
    call(
        address,
        vec![
            start(&["application/json"], &["a", "b"], &["out"]),
            json(0, "2"),
        ],
    )
    .await
    .assert_failed(
        Code::Unknown,
        "Invoker: Function Error: a request/reply function needs 1 input and 1 output",
    );
}

#[tokio::test]
async fn inputs_and_outputs_can_be_taken_by_name() {
    let address = serve(streaming(
        |mut inputs: Inputs, mut outputs: Outputs| async move {
            let mut input = inputs.take_named("words")?;
            let output = outputs.take_named("shouts")?;
            while let Some(Message { payload, headers }) = input.next().await {
                let payload = Payload::from(format!("{}!", payload.text()?.to_uppercase()));
                output.send(Message { payload, headers }).await?;
            }
            Ok::<(), BoxError>(())
        },
    ))
    .await;
    let outcome = call(
        address,
        vec![
            start(
                &["text/plain", "text/plain"],
                &["ignored", "words"],
                &["whispers", "shouts"],
            ),
            frame(1, "text/plain", b"hi"),
        ],
    )
    .await;
    outcome.assert_ok();
    assert_eq!(outcome.frames.len(), 1);
    assert_eq!(outcome.frames[0].result_index, 1);
    assert_eq!(text(&outcome.frames[0]), "HI!");

    call(
        address,
        vec![
            start(&["text/plain"], &["other"], &["shouts"]),
            frame(0, "text/plain", b"hi"),
        ],
    )
    .await
    .assert_failed(Code::Unknown, "Invoker: Function Error: no input \"words\"");
}
