//! The open-files limit: every connection holds a descriptor, so a server
//! runs with the highest soft limit the hard limit allows.
//!
//! Most systems start processes with a soft limit of 1,024 and a far higher
//! hard one; only the hard limit needs an administrator (see the README).

// `rlim_t` is `u64` on Linux but not on every Unix: the casts stay.
#![allow(clippy::unnecessary_cast)]

/// The process's open-files limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The limit in force (soft).
    pub soft: u64,
    /// The ceiling the soft limit may be raised to without privileges.
    pub hard: u64,
}

/// Highest soft limit asked for when the hard one is "unlimited": Linux
/// refuses more than `fs.nr_open` (1,048,576 by default) anyway.
const UNLIMITED_CAP: u64 = 1 << 20;

/// The current limits.
pub fn open_files() -> std::io::Result<OpenFiles> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(OpenFiles {
        soft: lim.rlim_cur as u64,
        hard: lim.rlim_max as u64,
    })
}

/// Raises the soft open-files limit to `want`, or to the hard limit when that
/// is lower (`u64::MAX`: as far as allowed). Never lowers it. Children
/// inherit it. Returns the limits now in force.
pub fn raise_open_files(want: u64) -> std::io::Result<OpenFiles> {
    let now = open_files()?;
    let hard = if now.hard == libc::RLIM_INFINITY as u64 {
        UNLIMITED_CAP
    } else {
        now.hard
    };
    let target = want.min(hard);
    if now.soft >= target {
        return Ok(now);
    }
    let lim = libc::rlimit {
        rlim_cur: target as libc::rlim_t,
        rlim_max: now.hard as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid rlimit with cur <= max.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    open_files()
}

/// What a server does at start: raise the soft limit as far as allowed and
/// log the limit it runs with, warning when it is below `needed` (the
/// connections its settings allow, plus a margin).
pub fn raise_and_log(server: &str, needed: u64) -> Option<OpenFiles> {
    match raise_open_files(u64::MAX) {
        Ok(l) => {
            tracing::info!(soft = l.soft, hard = l.hard, "{server}: open-files limit");
            if l.soft < needed {
                tracing::warn!(
                    limit = l.soft,
                    needed,
                    "{server}: the open-files limit is below what the connection limits allow; past it no connection is accepted (raise the hard limit: see the README)"
                );
            }
            Some(l)
        }
        Err(e) => {
            tracing::warn!(error = %e, "{server}: cannot read or raise the open-files limit");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_to_at_most_the_hard_limit_and_never_lowers() {
        let before = open_files().expect("getrlimit");
        let after = raise_open_files(u64::MAX).expect("setrlimit");
        assert!(after.soft >= before.soft);
        assert!(after.soft <= after.hard);
        assert_eq!(after.hard, before.hard);
        let again = raise_open_files(1).expect("no-op");
        assert_eq!(again.soft, after.soft, "asking for less never lowers it");
    }
}
