//! Who may connect: the access token and the browser `Origin`.
//!
//! - Token: when the bridge has one, `/ws/orchestrator` and `/metrics` require
//!   it, as `?token=…` or `Authorization: Bearer …`, compared in constant time.
//!   It is checked before anything else in the query is looked at, so an
//!   unauthenticated peer learns nothing but "401". `/healthz` stays open.
//! - Origin: a browser always sends `Origin` on a WebSocket upgrade, and a
//!   WebSocket is not protected by CORS, so any web page could otherwise read a
//!   local bridge. Requests with an `Origin` must match an allowed origin
//!   exactly (`*` allows any); requests without one (the TUI, scripts) pass.
//!
//! Neither the token nor a presented token is ever logged.

use subtle::ConstantTimeEq;
use warp::http::{HeaderMap, header};

use crate::config::Config;

/// The token the request presents, from the query or the `Authorization` header.
fn presented(headers: &HeaderMap, raw_query: &str) -> Vec<String> {
    let mut tokens: Vec<String> = url::form_urlencoded::parse(raw_query.as_bytes())
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .collect();
    for value in headers.get_all(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else { continue };
        if let Some((scheme, token)) = value.trim().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            tokens.push(token.trim().to_string());
        }
    }
    tokens
}

/// Whether the request may pass: always when the bridge has no token;
/// otherwise when a presented token equals it (constant-time per candidate).
pub fn token_ok(config: &Config, headers: &HeaderMap, raw_query: &str) -> bool {
    let Some(expected) = config.token.as_deref() else {
        return true;
    };
    presented(headers, raw_query)
        .iter()
        .fold(false, |ok, candidate| {
            ok | bool::from(candidate.as_bytes().ct_eq(expected.as_bytes()))
        })
}

/// Checks the `Origin` header against the allowed list; `Err` carries the 403 message.
pub fn origin_ok(config: &Config, headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let allowed = config
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.as_bytes() == origin.as_bytes());
    if allowed {
        Ok(())
    } else if config.allowed_origins.is_empty() {
        Err(
            "browser origins are not allowed: start the bridge with --allowed-origins <origin>"
                .into(),
        )
    } else {
        Err("origin not allowed (see the bridge's --allowed-origins)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn with_token(t: &str) -> Config {
        Config {
            token: Some(t.into()),
            ..Config::default()
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn token_from_query_or_bearer() {
        let c = with_token("s3cret");
        let none = HeaderMap::new();
        assert!(token_ok(&Config::default(), &none, ""));
        assert!(!token_ok(&c, &none, ""));
        assert!(!token_ok(&c, &none, "token=s3cre"));
        assert!(!token_ok(&c, &none, "token=s3cret2"));
        assert!(token_ok(&c, &none, "types=x&token=s3cret"));
        assert!(token_ok(
            &c,
            &headers(&[("authorization", "Bearer s3cret")]),
            ""
        ));
        assert!(token_ok(
            &c,
            &headers(&[("authorization", "bearer  s3cret ")]),
            ""
        ));
        assert!(!token_ok(
            &c,
            &headers(&[("authorization", "Basic s3cret")]),
            ""
        ));
    }

    #[test]
    fn origins_match_exactly() {
        let none = Config::default();
        assert!(origin_ok(&none, &HeaderMap::new()).is_ok());
        assert!(origin_ok(&none, &headers(&[("origin", "http://a")])).is_err());
        let some = Config {
            allowed_origins: vec!["http://localhost:3000".into()],
            ..Config::default()
        };
        assert!(origin_ok(&some, &headers(&[("origin", "http://localhost:3000")])).is_ok());
        assert!(origin_ok(&some, &headers(&[("origin", "http://localhost:3000/")])).is_err());
        assert!(origin_ok(&some, &headers(&[("origin", "http://LOCALHOST:3000")])).is_err());
        let any = Config {
            allowed_origins: vec!["*".into()],
            ..Config::default()
        };
        assert!(origin_ok(&any, &headers(&[("origin", "null")])).is_ok());
    }
}
