//! TLS for `rediss://` URLs: the crypto that rustls uses.
//!
//! The redis crate builds rustls without a crypto provider of its own. rustls
//! picks one by itself only when exactly one provider feature is compiled in
//! anywhere in the program, so a dependency that later enables `aws-lc-rs` too
//! would turn every `rediss://` connect into a panic. The agent and the bridge
//! therefore install ring explicitly at startup, before any connection.

/// Makes ring the process-wide rustls crypto provider, unless the program
/// already installed one (then that one stays). Cheap and idempotent: call it
/// at startup of anything that may open a `rediss://` connection.
pub fn install_crypto_provider() {
    // An Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_is_installed_and_a_second_call_is_harmless() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
