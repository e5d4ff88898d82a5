//! Certificates for a TLS test Redis, made with the `openssl` command.
//!
//! A throw-away CA signs a server certificate for `127.0.0.1` and `localhost`,
//! so a client that trusts the CA (e.g. with `SSL_CERT_FILE=<ca.crt>`) verifies
//! the server for real; `#insecure` URLs skip verification. A self-signed
//! certificate alone would not do: rustls refuses a CA certificate used as a
//! server's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::redis_server::RedisServerError;

/// The files of a TLS test Redis, all in its temp dir.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate (PEM) to trust.
    pub ca_cert: PathBuf,
    /// The server certificate (PEM), signed by the CA, valid for 127.0.0.1 and localhost.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Makes a fresh CA and a server certificate in `dir` (also handy on its
    /// own: a CA that did *not* sign a server's certificate).
    pub fn generate(dir: &Path) -> Result<TlsFiles, RedisServerError> {
        generate(dir)
    }
}

fn generate(dir: &Path) -> Result<TlsFiles, RedisServerError> {
    let files = TlsFiles {
        ca_cert: dir.join("ca.crt"),
        cert: dir.join("redis.crt"),
        key: dir.join("redis.key"),
    };
    let ca_key = dir.join("ca.key");
    let csr = dir.join("redis.csr");
    let ext = dir.join("redis.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
         basicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        Command::new("openssl")
            .args(["req", "-x509", "-days", "2", "-subj", "/CN=testkit CA"])
            .args(ec)
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&files.ca_cert),
    )?;
    openssl(
        Command::new("openssl")
            .args(["req", "-subj", "/CN=localhost"])
            .args(ec)
            .arg("-keyout")
            .arg(&files.key)
            .arg("-out")
            .arg(&csr),
    )?;
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&files.ca_cert)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&files.cert),
    )?;
    Ok(files)
}

fn openssl(cmd: &mut Command) -> Result<(), RedisServerError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RedisServerError::Tls(format!("cannot run openssl: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(RedisServerError::Tls(format!(
            "openssl failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
