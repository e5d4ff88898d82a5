//! Reading OTLP attributes: typed look-ups over `KeyValue` lists, and the
//! conversion of an `AnyValue` into JSON.
//!
//! The GenAI conventions and the frameworks put JSON documents inside string
//! attributes (`gen_ai.input.messages`, Strands' `content`, OpenInference's
//! `input.value`), so [`json_of_str`] reads such a string back into a value when
//! it is JSON and keeps it as a string when it is not.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::Value;

/// The attribute `key`, if present and set.
pub fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// A string attribute (other scalar types are rendered as text).
pub fn string(attrs: &[KeyValue], key: &str) -> Option<String> {
    match find(attrs, key)? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// The first of `keys` that is a non-empty string.
pub fn first_string(attrs: &[KeyValue], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| string(attrs, k))
}

/// A non-negative integer attribute (an integral double or a numeric string also counts).
pub fn count(attrs: &[KeyValue], key: &str) -> Option<u64> {
    match find(attrs, key)? {
        any_value::Value::IntValue(i) => u64::try_from(*i).ok(),
        any_value::Value::DoubleValue(d) if *d >= 0.0 && d.fract() == 0.0 => Some(*d as u64),
        any_value::Value::StringValue(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The first of `keys` that holds a count.
pub fn first_count(attrs: &[KeyValue], keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| count(attrs, k))
}

/// The attribute as JSON: strings holding JSON are parsed, other strings kept.
pub fn json(attrs: &[KeyValue], key: &str) -> Option<Value> {
    match find(attrs, key)? {
        any_value::Value::StringValue(s) => Some(json_of_str(s)),
        other => Some(any_to_json(other)),
    }
}

/// The first of `keys` present, as JSON.
pub fn first_json(attrs: &[KeyValue], keys: &[&str]) -> Option<Value> {
    keys.iter().find_map(|k| json(attrs, k))
}

/// A string that holds a JSON object or array becomes that value; anything
/// else stays a string.
pub fn json_of_str(s: &str) -> Value {
    let t = s.trim_start();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(s)
    {
        return v;
    }
    Value::String(s.to_string())
}

/// An `AnyValue` as JSON (bytes as lowercase hex, as OTLP/JSON writes ids).
pub fn any_to_json(value: &any_value::Value) -> Value {
    match value {
        any_value::Value::StringValue(s) => Value::String(s.clone()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::from(*i),
        any_value::Value::DoubleValue(d) => {
            serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number)
        }
        any_value::Value::ArrayValue(a) => Value::Array(a.values.iter().map(opt_any).collect()),
        any_value::Value::KvlistValue(kv) => Value::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map_or(Value::Null, opt_any),
                    )
                })
                .collect(),
        ),
        any_value::Value::BytesValue(b) => Value::String(hex(b)),
    }
}

fn opt_any(v: &AnyValue) -> Value {
    v.value.as_ref().map_or(Value::Null, any_to_json)
}

/// Lowercase hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
        }
    }

    #[test]
    fn counts_read_ints_doubles_and_numeric_strings() {
        let attrs = vec![
            kv("a", any_value::Value::IntValue(7)),
            kv("b", any_value::Value::DoubleValue(3.0)),
            kv("c", any_value::Value::StringValue(" 12 ".into())),
            kv("d", any_value::Value::IntValue(-1)),
            kv("e", any_value::Value::DoubleValue(1.5)),
        ];
        assert_eq!(count(&attrs, "a"), Some(7));
        assert_eq!(count(&attrs, "b"), Some(3));
        assert_eq!(count(&attrs, "c"), Some(12));
        assert_eq!(count(&attrs, "d"), None);
        assert_eq!(count(&attrs, "e"), None);
        assert_eq!(first_count(&attrs, &["zz", "c"]), Some(12));
    }

    #[test]
    fn json_strings_are_parsed_and_plain_strings_kept() {
        assert_eq!(json_of_str(r#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(json_of_str("[1"), Value::String("[1".into()));
        assert_eq!(json_of_str("hello"), Value::String("hello".into()));
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
