//! The server's host key and the viewers' authorized keys.
//!
//! The host key is created once (ed25519, mode 0600, written with
//! `create_new` so two starts never race to different keys) and reused after,
//! so viewers' `known_hosts` entries stay valid. The authorized-keys file is
//! read again at every authentication: adding or removing a viewer's key takes
//! effect without a restart.

use std::io::Write;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::{self, AuthorizedKeys, HashAlg, LineEnding};
use russh::keys::{Algorithm, PrivateKey, PublicKey};

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an OpenSSH key (or key list).
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        #[source]
        source: ssh_key::Error,
    },
    /// The host key is not ed25519.
    #[error("{path}: the host key must be ed25519, found {algorithm}")]
    NotEd25519 {
        /// The file.
        path: PathBuf,
        /// What it is.
        algorithm: String,
    },
}

/// Loads the ed25519 host key at `path`, creating it (mode 0600) when absent.
/// Returns the key and whether it was created.
pub fn load_or_create_host_key(path: &Path) -> Result<(PrivateKey, bool), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = PrivateKey::from_openssh(text.trim()).map_err(|source| KeyError::Format {
                path: path.to_owned(),
                source,
            })?;
            if key.algorithm() != Algorithm::Ed25519 {
                return Err(KeyError::NotEd25519 {
                    path: path.to_owned(),
                    algorithm: key.algorithm().to_string(),
                });
            }
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = generate();
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|source| KeyError::Format {
                    path: path.to_owned(),
                    source,
                })?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(path).map_err(io)?;
            file.write_all(text.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok((key, true))
        }
        Err(e) => Err(io(e)),
    }
}

/// A new ed25519 key from 32 random bytes.
pub fn generate() -> PrivateKey {
    let seed: [u8; 32] = rand::random();
    PrivateKey::from(Ed25519Keypair::from_seed(&seed))
}

/// The OpenSSH-style fingerprint (`SHA256:…`) of a public key.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The viewers' keys file.
#[derive(Debug, Clone)]
pub struct AuthorizedFile {
    path: PathBuf,
}

/// A key found in the authorized file: its comment, for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The key's fingerprint.
    pub fingerprint: String,
    /// The comment after the key (often `user@host`), empty when none.
    pub comment: String,
}

impl AuthorizedFile {
    /// The file at `path`.
    pub fn new(path: PathBuf) -> AuthorizedFile {
        AuthorizedFile { path }
    }

    /// The default: `~/.ssh/authorized_keys`.
    pub fn default_path() -> Option<PathBuf> {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh").join("authorized_keys"))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file and counts its keys (checked at start so a typo is
    /// found before the first viewer is refused).
    pub fn count(&self) -> Result<usize, KeyError> {
        self.read().map(|keys| keys.len())
    }

    fn read(&self) -> Result<Vec<PublicKey>, KeyError> {
        let text = std::fs::read_to_string(&self.path).map_err(|source| KeyError::Io {
            path: self.path.clone(),
            source,
        })?;
        let entries = AuthorizedKeys::new(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| KeyError::Format {
                path: self.path.clone(),
                source,
            })?;
        Ok(entries
            .into_iter()
            .map(|e| e.public_key().clone())
            .collect())
    }

    /// The viewer owning `key`, when it is listed. A file that cannot be read
    /// lets nobody in (and says why in the log).
    pub fn find(&self, key: &PublicKey) -> Option<Viewer> {
        let keys = match self.read() {
            Ok(keys) => keys,
            Err(e) => {
                tracing::error!(error = %e, "authorized keys unreadable; refusing every key");
                return None;
            }
        };
        keys.into_iter()
            .find(|k| k.key_data() == key.key_data())
            .map(|k| Viewer {
                fingerprint: fingerprint(&k),
                comment: AsRef::<str>::as_ref(k.comment()).to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_is_created_private_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host_key");
        let (first, created) = load_or_create_host_key(&path).expect("create");
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, created) = load_or_create_host_key(&path).expect("load");
        assert!(!created);
        assert_eq!(
            fingerprint(first.public_key()),
            fingerprint(second.public_key())
        );
    }

    #[test]
    fn a_broken_host_key_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host_key");
        std::fs::write(&path, "not a key").expect("write");
        assert!(matches!(
            load_or_create_host_key(&path),
            Err(KeyError::Format { .. })
        ));
    }

    #[test]
    fn finds_listed_keys_with_their_comment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = generate();
        let b = generate();
        let line = a.public_key().to_openssh().expect("openssh");
        let path = dir.path().join("authorized_keys");
        std::fs::write(&path, format!("# viewers\n\n{line} alice@laptop\n")).expect("write");
        let file = AuthorizedFile::new(path);
        assert_eq!(file.count().expect("count"), 1);
        let viewer = file.find(a.public_key()).expect("listed");
        assert_eq!(viewer.comment, "alice@laptop");
        assert!(viewer.fingerprint.starts_with("SHA256:"));
        assert_eq!(file.find(b.public_key()), None);
    }
}
