//! Reading tool arguments with errors that name the field and the rule.
//!
//! Models make mistakes in arguments; the message they get back must say
//! exactly what to fix (`plan_id: must match plan-[a-z0-9]+, got "x"`), and
//! so must the `tool_result` a person watches.

use serde_json::{Map, Value};

use super::ToolError;

/// The arguments object of one call, checked field by field.
#[derive(Debug)]
pub struct Args<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    /// Requires `value` to be an object whose keys are all in `allowed`.
    pub fn new(value: &'a Value, allowed: &[&str]) -> Result<Args<'a>, ToolError> {
        let Value::Object(map) = value else {
            return Err(ToolError::InvalidInput(format!(
                "arguments must be a JSON object, got {}",
                kind_of(value)
            )));
        };
        let unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(ToolError::InvalidInput(format!(
                "unknown field(s) {}; allowed: {}",
                unknown.join(", "),
                allowed.join(", ")
            )));
        }
        Ok(Args { map })
    }

    /// A required non-empty string of at most `max` characters (trimmed).
    pub fn required_str(&self, field: &str, max: usize) -> Result<String, ToolError> {
        match self.optional_str(field, max)? {
            Some(s) => Ok(s),
            None => Err(ToolError::InvalidInput(format!(
                "{field}: required, a non-empty string"
            ))),
        }
    }

    /// An optional string of at most `max` characters; empty counts as absent.
    pub fn optional_str(&self, field: &str, max: usize) -> Result<Option<String>, ToolError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                let len = s.chars().count();
                if len > max {
                    Err(ToolError::InvalidInput(format!(
                        "{field}: at most {max} characters, got {len}"
                    )))
                } else if s.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some(s.to_string()))
                }
            }
            Some(other) => Err(ToolError::InvalidInput(format!(
                "{field}: must be a string, got {}",
                kind_of(other)
            ))),
        }
    }

    /// An optional integer in `min..=max`.
    pub fn optional_int(&self, field: &str, min: u64, max: u64) -> Result<Option<u64>, ToolError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(ToolError::InvalidInput(format!(
                    "{field}: must be an integer from {min} to {max}, got {v}"
                ))),
            },
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let v = json!({"a": 5, "b": "  ", "c": "x".repeat(11)});
        let args = Args::new(&v, &["a", "b", "c"]).expect("allowed");
        assert_eq!(
            args.required_str("a", 10).unwrap_err().to_string(),
            "invalid input: a: must be a string, got a number"
        );
        assert_eq!(
            args.required_str("b", 10).unwrap_err().to_string(),
            "invalid input: b: required, a non-empty string"
        );
        assert_eq!(
            args.required_str("c", 10).unwrap_err().to_string(),
            "invalid input: c: at most 10 characters, got 11"
        );
        assert_eq!(args.optional_int("a", 1, 100), Ok(Some(5)));
        assert!(args.optional_int("a", 6, 100).is_err());
        let err = Args::new(&json!({"zzz": 1}), &["a"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: unknown field(s) zzz; allowed: a"
        );
        assert!(Args::new(&json!([1]), &["a"]).is_err());
    }
}
