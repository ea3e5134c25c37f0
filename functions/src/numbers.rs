//! JSON numbers in and out of payloads.

use riff_function::Payload;
use serde_json::Value;

/// The number in a JSON number payload; any other payload is an error naming what it got.
pub fn number(payload: &Payload) -> Result<f64, String> {
    match payload {
        Payload::Json(Value::Number(number)) => number
            .as_f64()
            .ok_or_else(|| format!("{number} is out of range")),
        Payload::Json(value) => Err(format!("expected a JSON number, got {value}")),
        Payload::Text(text) => Err(format!("expected a JSON number, got the text {text:?}")),
        Payload::Bytes(bytes) => Err(format!("expected a JSON number, got {} bytes", bytes.len())),
    }
}

/// A JSON number payload for `value`: an integer when `value` is a (safe) integer, so `4.0` is
/// `4`; an error if `value` is not finite.
pub fn to_payload(value: f64) -> Result<Payload, String> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER {
        return Ok(Payload::Json(Value::from(value as i64)));
    }
    serde_json::Number::from_f64(value)
        .map(|number| Payload::Json(Value::Number(number)))
        .ok_or_else(|| format!("{value} is not a finite number"))
}

/// The square of a JSON number: the request/reply function of the `square` sample.
pub fn square(payload: Payload) -> Result<Payload, String> {
    let x = number(&payload)?;
    to_payload(x * x)
}
