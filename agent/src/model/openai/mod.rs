//! OpenAI-compatible streaming backend (`--model openai`): OpenAI itself, and
//! local servers that speak the same API (Ollama, vLLM, llama.cpp server).
//!
//! Layout, one concept per file:
//! - this file: the configuration and the [`Model`] implementation;
//! - `turn`: one HTTP exchange — request, retries, timeouts, reading the body;
//! - `decode`: response bytes → [`Delta`](super::Delta)s, no I/O;
//! - `sse`: the event-stream framing; `accumulate`: tool-call fragments;
//! - `wire`: the JSON shapes; `retry`: which failures to retry and when.
//!
//! Only the configuration and the model are public: the rest is how.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderValue, InvalidHeaderValue};

use super::{DeltaStream, Model, ModelError, TurnRequest};

mod accumulate;
mod decode;
mod retry;
mod sse;
mod turn;
mod wire;

/// Settings for an OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp…).
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL up to and including `/v1`, e.g. `https://api.openai.com/v1` (`OPENAI_BASE_URL`).
    pub base_url: String,
    /// Bearer token (`OPENAI_API_KEY`); optional for local servers.
    pub api_key: Option<String>,
    /// Model name (`ORCH_MODEL_NAME`).
    pub model: String,
    /// Time allowed to connect and between two chunks of a stream.
    pub timeout: Duration,
    /// Retries for 429 and 5xx answers (honouring `Retry-After`).
    pub max_retries: u32,
}

/// Written by hand so that printing the configuration (in a log, a panic, a
/// test failure) never shows the API key.
impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// The OpenAI-compatible backend. Cheap to clone: the HTTP client (and its
/// connection pool) is shared.
#[derive(Clone)]
pub struct OpenAiModel {
    endpoint: Arc<turn::Endpoint>,
}

impl fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiModel")
            .field("endpoint", &self.describe())
            .finish()
    }
}

impl OpenAiModel {
    /// Validates the configuration (the URL must parse) and builds the client.
    pub fn new(config: OpenAiConfig) -> Result<OpenAiModel, ModelError> {
        // ModelError has no configuration variant: `Connect` reads right
        // ("cannot reach the model endpoint: OPENAI_BASE_URL … is not a URL").
        let invalid = ModelError::Connect;
        let url = completions_url(&config.base_url).map_err(invalid)?;
        let authorization =
            match config
                .api_key
                .as_deref()
                .map(str::trim)
                .filter(|key| !key.is_empty())
            {
                Some(key) => Some(bearer(key).map_err(|_| {
                    invalid("OPENAI_API_KEY is not a valid HTTP header value".into())
                })?),
                None => None,
            };
        if config.timeout.is_zero() {
            return Err(invalid("the model timeout must be more than zero".into()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .user_agent(concat!("orchestrator-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        let shown_url = display_url(&url);
        Ok(OpenAiModel {
            endpoint: Arc::new(turn::Endpoint {
                client,
                url,
                shown_url,
                authorization,
                model: config.model,
                timeout: config.timeout,
                max_retries: config.max_retries,
            }),
        })
    }
}

impl Model for OpenAiModel {
    fn turn(&self, request: TurnRequest) -> DeltaStream {
        turn::stream(Arc::clone(&self.endpoint), &request)
    }

    fn name(&self) -> String {
        self.endpoint.model.clone()
    }

    fn describe(&self) -> String {
        format!(
            "openai {} @ {}",
            self.endpoint.model, self.endpoint.shown_url
        )
    }
}

/// `{base_url}/chat/completions`. A base URL that already names the
/// endpoint is taken as it is, a trailing `/` is tolerated.
fn completions_url(base_url: &str) -> Result<Url, String> {
    let base = base_url.trim();
    let mut url =
        Url::parse(base).map_err(|e| format!("OPENAI_BASE_URL {base:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "OPENAI_BASE_URL {base:?} must be an http:// or https:// URL with a host"
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/chat/completions") {
        url.set_path(&format!("{path}/chat/completions"));
    }
    Ok(url)
}

/// The URL as it may be shown in logs and errors: without a password or a
/// query string, either of which could hold a secret.
fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

fn bearer(key: &str) -> Result<HeaderValue, InvalidHeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {key}"))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str, api_key: Option<&str>) -> OpenAiConfig {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key: api_key.map(str::to_owned),
            model: "m".into(),
            timeout: Duration::from_secs(5),
            max_retries: 2,
        }
    }

    #[test]
    fn the_endpoint_is_appended_once() {
        for base in [
            "http://h:1/v1",
            "http://h:1/v1/",
            "http://h:1/v1/chat/completions",
            " http://h:1/v1 ",
        ] {
            assert_eq!(
                completions_url(base).unwrap().as_str(),
                "http://h:1/v1/chat/completions",
                "{base}"
            );
        }
    }

    #[test]
    fn bad_urls_and_keys_are_rejected_with_a_reason() {
        for base in ["", "localhost:11434/v1", "ftp://h/v1", "http://"] {
            let error = OpenAiModel::new(config(base, None)).unwrap_err();
            assert!(
                error.to_string().contains("OPENAI_BASE_URL"),
                "{base}: {error}"
            );
        }
        let error = OpenAiModel::new(config("http://h/v1", Some("bad\nkey"))).unwrap_err();
        assert!(error.to_string().contains("OPENAI_API_KEY"));
        assert!(
            !error.to_string().contains("bad"),
            "the key itself is never shown"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_describe() {
        let cfg = config("https://user:pw@h/v1?key=sekrit", Some("sk-secret"));
        assert!(!format!("{cfg:?}").contains("sk-secret"));
        let model = OpenAiModel::new(cfg).unwrap();
        let shown = format!("{} {model:?}", model.describe());
        for secret in ["sk-secret", "pw", "sekrit"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("openai m @ https://user@h/v1/chat/completions"),
            "{shown}"
        );
    }
}
