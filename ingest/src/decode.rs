//! OTLP/HTTP bodies: content type, gzip, the size limit, and the two encodings.
//!
//! The limit counts the *decompressed* bytes, checked while inflating, so a
//! small gzip body that would inflate to gigabytes is refused after reading
//! `limit + 1` bytes of it — never held in memory whole.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// The two encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`
    Protobuf,
    /// `application/json`
    Json,
}

impl Encoding {
    /// The encoding of a `Content-Type` header value (parameters such as
    /// `; charset=utf-8` are ignored), or `None` for any other type.
    pub fn from_content_type(value: &str) -> Option<Encoding> {
        let essence = value.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a body was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// More than the limit, before or after decompression (413).
    #[error("body larger than {limit} bytes (decompressed)")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A `Content-Encoding` other than gzip or identity (415).
    #[error("unsupported Content-Encoding {0:?} (use gzip or none)")]
    Encoding(String),
    /// The gzip stream is broken (400).
    #[error("gzip body does not decompress: {0}")]
    Gzip(#[source] std::io::Error),
    /// Not a protobuf `ExportTraceServiceRequest` (400).
    #[error("body is not an OTLP ExportTraceServiceRequest (protobuf): {0}")]
    Protobuf(#[source] prost::DecodeError),
    /// Not an OTLP/JSON `ExportTraceServiceRequest` (400).
    #[error("body is not an OTLP ExportTraceServiceRequest (JSON): {0}")]
    Json(#[source] serde_json::Error),
}

/// Undoes `Content-Encoding` (absent, `identity` or `gzip`), refusing more
/// than `limit` decompressed bytes.
pub fn decompress(
    content_encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    let encoding = content_encoding.map(str::trim).unwrap_or("");
    if encoding.is_empty() || encoding.eq_ignore_ascii_case("identity") {
        if body.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        return Ok(body.to_vec());
    }
    if !encoding.eq_ignore_ascii_case("gzip") {
        return Err(DecodeError::Encoding(encoding.to_string()));
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let reader = flate2::read::GzDecoder::new(body);
    // One byte past the limit tells "exactly the limit" from "over it".
    let read = reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(DecodeError::Gzip)?;
    if read > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

/// Decodes an export request in `encoding`.
pub fn decode(encoding: Encoding, body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => {
            ExportTraceServiceRequest::decode(body).map_err(DecodeError::Protobuf)
        }
        Encoding::Json => serde_json::from_slice(body).map_err(DecodeError::Json),
    }
}

/// The 200 answer: `partial_success` only when something was rejected or
/// there is a warning to give, as the specification asks.
pub fn response(encoding: Encoding, rejected: u64, message: String) -> Vec<u8> {
    let partial_success =
        (rejected > 0 || !message.is_empty()).then(|| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
            error_message: message,
        });
    let reply = ExportTraceServiceResponse { partial_success };
    match encoding {
        Encoding::Protobuf => reply.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&reply).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// `google.rpc.Status`, the body OTLP/HTTP puts in an error response (not part
/// of the OTLP protos, so declared here: two fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for a person.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// An error body in `encoding` (JSON when the request's encoding is unknown).
pub fn error_body(encoding: Option<Encoding>, code: i32, message: &str) -> Vec<u8> {
    match encoding {
        Some(Encoding::Protobuf) => RpcStatus {
            code,
            message: message.to_string(),
        }
        .encode_to_vec(),
        _ => serde_json::json!({"code": code, "message": message})
            .to_string()
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).expect("gzip into a Vec");
        enc.finish().expect("gzip into a Vec")
    }

    #[test]
    fn content_types_with_parameters() {
        assert_eq!(
            Encoding::from_content_type("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type("Application/X-Protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_content_type("text/plain"), None);
    }

    #[test]
    fn gzip_limit_counts_decompressed_bytes() {
        let zeros = vec![0u8; 1_000_000];
        let small = gzip(&zeros);
        assert!(small.len() < 10_000);
        assert!(matches!(
            decompress(Some("gzip"), &small, 999_999),
            Err(DecodeError::TooLarge { .. })
        ));
        assert_eq!(
            decompress(Some("gzip"), &small, 1_000_000)
                .map(|v| v.len())
                .ok(),
            Some(1_000_000)
        );
        assert!(matches!(
            decompress(Some("gzip"), b"not gzip", 100),
            Err(DecodeError::Gzip(_))
        ));
        assert!(matches!(
            decompress(Some("br"), b"x", 100),
            Err(DecodeError::Encoding(_))
        ));
        assert!(matches!(
            decompress(None, &[1; 11], 10),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn responses_carry_partial_success_only_when_needed() {
        let ok = response(Encoding::Json, 0, String::new());
        let ok: serde_json::Value = serde_json::from_slice(&ok).expect("json");
        assert!(ok.get("partialSuccess").is_none_or(|p| p.is_null()));
        let partial = response(Encoding::Json, 2, "two bad".into());
        let v: serde_json::Value = serde_json::from_slice(&partial).expect("json");
        assert_eq!(v["partialSuccess"]["errorMessage"], "two bad");
        let pb = response(Encoding::Protobuf, 2, "two bad".into());
        let back = ExportTraceServiceResponse::decode(pb.as_slice()).expect("protobuf");
        assert_eq!(back.partial_success.map(|p| p.rejected_spans), Some(2));
    }
}
