//! `--prices FILE`: what a model's tokens cost, for the runs view's cost column.
//!
//! The file is JSON: model name → USD per million input and output tokens,
//! `{"gpt-4o": {"input": 2.5, "output": 10.0}}`. There is no built-in list:
//! prices change, and a stale table misleads. No file, no cost column.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// USD per million tokens of one model.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    /// Per million input (prompt) tokens.
    pub input: f64,
    /// Per million output (completion) tokens.
    pub output: f64,
}

/// The price list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices(HashMap<String, Price>);

/// Why a price file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PricesError {
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not the expected JSON.
    #[error(
        "{path} is not a price file ({{\"model\": {{\"input\": USD, \"output\": USD}}}} per million tokens): {source}"
    )]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A price is negative or not a number.
    #[error("{path}: the price of {model} must be a finite number >= 0")]
    Invalid {
        /// The file.
        path: String,
        /// The model.
        model: String,
    },
}

impl Prices {
    /// Parses a price list.
    pub fn parse(text: &str, path: &str) -> Result<Prices, PricesError> {
        let map: HashMap<String, Price> =
            serde_json::from_str(text).map_err(|source| PricesError::Parse {
                path: path.to_string(),
                source,
            })?;
        for (model, p) in &map {
            if !(p.input.is_finite() && p.output.is_finite() && p.input >= 0.0 && p.output >= 0.0) {
                return Err(PricesError::Invalid {
                    path: path.to_string(),
                    model: model.clone(),
                });
            }
        }
        Ok(Prices(map))
    }

    /// Reads a price file.
    pub fn load(path: &Path) -> Result<Prices, PricesError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PricesError::Read {
            path: shown.clone(),
            source,
        })?;
        Prices::parse(&text, &shown)
    }

    /// The cost in USD of these tokens of `model`, when its price is known.
    pub fn cost(&self, model: Option<&str>, tokens_in: u64, tokens_out: u64) -> Option<f64> {
        let p = self.0.get(model?)?;
        Some((tokens_in as f64 * p.input + tokens_out as f64 * p.output) / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prices() {
        let p = Prices::parse(r#"{"m": {"input": 2.0, "output": 10.0}}"#, "f").expect("ok");
        assert_eq!(p.cost(Some("m"), 1_000_000, 500_000), Some(7.0));
        assert_eq!(p.cost(Some("other"), 1, 1), None);
        assert_eq!(p.cost(None, 1, 1), None);
        assert!(Prices::parse(r#"{"m": {"input": -1, "output": 1}}"#, "f").is_err());
        let e = Prices::parse("[1]", "f.json").expect_err("not a map");
        assert!(e.to_string().contains("f.json is not a price file"), "{e}");
    }
}
