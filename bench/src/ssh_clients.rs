//! Real OpenSSH clients, each under its own pseudo-terminal, counting the
//! bytes the server sends them (for the `ssh` benchmark part).
//!
//! `ssh -tt` sizes the remote pty from its own terminal, so each client gets a
//! real pty of a fixed size (`openpty`), becomes its session leader and
//! controlling terminal, and a thread reads the pty's master side to the end,
//! counting every byte: what the viewer's terminal receives, after
//! decryption. Nothing is written to the client until
//! [`SshClient::type_quit`] types `q`, so a session ends the way a viewer ends it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use testkit::ChildGuard;

/// One `ssh -tt` client under a pty.
#[derive(Debug)]
pub struct SshClient {
    child: ChildGuard,
    master: File,
    bytes: Arc<AtomicU64>,
}

fn pty(cols: u16, rows: u16) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: the out-pointers are valid; name and termios may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openpty returned two fresh descriptors that we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

impl SshClient {
    /// Starts `cmd` (an `ssh -tt …` command) on a new `cols`×`rows` pty.
    pub fn spawn(mut cmd: Command, cols: u16, rows: u16) -> std::io::Result<SshClient> {
        let (master, slave) = pty(cols, rows)?;
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = ChildGuard(cmd.spawn()?);
        let master = File::from(master);
        let mut reader = master.try_clone()?;
        let bytes = Arc::new(AtomicU64::new(0));
        let count = bytes.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            // Ends with EIO once the client exits and the pty's last slave closes.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        });
        Ok(SshClient {
            child,
            master,
            bytes,
        })
    }

    /// Bytes the client's terminal received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Whether the client is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.0.try_wait(), Ok(None))
    }

    /// Types `q`, the monitor's quit key.
    pub fn type_quit(&self) {
        let _ = (&self.master).write_all(b"q");
    }

    /// Waits up to `grace` for the client to exit; returns its exit code
    /// when it did (it is killed otherwise, when dropped).
    pub fn wait(mut self, grace: Duration) -> Option<i32> {
        self.child
            .wait_timeout(grace)
            .ok()
            .flatten()
            .and_then(|s| s.code())
    }
}

/// The sum of the bytes `clients` received.
pub fn total_bytes(clients: &[SshClient]) -> u64 {
    clients.iter().map(SshClient::bytes).sum()
}
