//! Settings read from the environment.

use riff_function::ServeError;

/// The environment variable `name` parsed with `parse`, or `default` (also parsed) when unset
/// or blank; a bad value is a [`ServeError::Config`] naming the variable.
pub fn setting<T>(
    name: &str,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ServeError> {
    let value = std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| default.to_owned());
    parse(value.trim()).map_err(|error| ServeError::Config(format!("{name}: {error}")))
}
