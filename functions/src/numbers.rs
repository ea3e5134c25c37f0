//! JSON numbers in and out of payloads.

use riff_function::{BoxError, Payload};
use serde_json::Value;

/// The number in a JSON number payload. A payload that is not JSON gives the SDK's decode error
/// (the call fails with `Bad Input Signal`); other JSON is an error naming what it got.
pub fn number(payload: &Payload) -> Result<f64, BoxError> {
    match payload.json()? {
        Value::Number(number) => Ok(number
            .as_f64()
            .ok_or_else(|| format!("{number} is out of range"))?),
        value => Err(format!("expected a JSON number, got {value}").into()),
    }
}

/// A JSON number payload for `value`: an integer when `value` is a (safe) integer, so `4.0` is
/// `4`; an error if `value` is not finite.
pub fn to_payload(value: f64) -> Result<Payload, String> {
    const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
    if value.fract() == 0.0 && value.abs() <= MAX_SAFE_INTEGER {
        return Ok(Payload::from(Value::from(value as i64)));
    }
    serde_json::Number::from_f64(value)
        .map(|number| Payload::from(Value::Number(number)))
        .ok_or_else(|| format!("{value} is not a finite number"))
}

/// The square of a JSON number: the request/reply function of the `square` sample.
pub fn square(payload: Payload) -> Result<Payload, BoxError> {
    let x = number(&payload)?;
    Ok(to_payload(x * x)?)
}
