//! OpenAI-compatible streaming backend (`--model openai`).
//!
//! PLACEHOLDER: the public surface below is fixed so the rest of the agent can be
//! built against it; the streaming implementation lands with the OpenAI issue.

use std::time::Duration;

use super::{DeltaStream, Model, ModelError, TurnRequest};

/// Settings for an OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp…).
#[derive(Debug, Clone)]
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

/// The OpenAI-compatible backend.
#[derive(Debug, Clone)]
pub struct OpenAiModel {
    config: OpenAiConfig,
}

impl OpenAiModel {
    /// Validates the configuration (the URL must parse) and builds the client.
    pub fn new(config: OpenAiConfig) -> Result<OpenAiModel, ModelError> {
        Ok(OpenAiModel { config })
    }
}

impl Model for OpenAiModel {
    fn turn(&self, _request: TurnRequest) -> DeltaStream {
        Box::pin(futures_util::stream::once(async {
            Err(ModelError::Protocol("the openai backend is not implemented yet".into()))
        }))
    }

    fn describe(&self) -> String {
        format!("openai {} @ {}", self.config.model, self.config.base_url)
    }
}
