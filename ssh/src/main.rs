//! `orchestrator-ssh`: serves the monitor over SSH to every viewer with an
//! authorized key. See the crate README for flags, keys and what it refuses.

mod cli;
mod guard;
mod input;
mod keys;
mod server;
mod session;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use color_eyre::eyre::{WrapErr, eyre};
use orchestrator_tui::app::prices::Prices;
use orchestrator_tui::client::ClientConfig;
use tokio_util::sync::CancellationToken;

use crate::cli::Cli;
use crate::keys::{AuthorizedFile, fingerprint, load_or_create_host_key};
use crate::server::{ConnectRate, Shared};
use crate::upstream::Upstream;

#[tokio::main]
async fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    let cli: Cli = orchestrator_events::cli::parse_or_exit("orchestrator-ssh");
    orchestrator_events::process::init_logging("info,russh=warn");

    let (host_key, created) = load_or_create_host_key(&cli.host_key)?;
    let print = fingerprint(host_key.public_key());
    println!(
        "orchestrator-ssh: host key {print} ({} {})",
        if created { "created" } else { "loaded" },
        cli.host_key.display()
    );
    let path = cli
        .authorized_keys
        .clone()
        .or_else(AuthorizedFile::default_path)
        .ok_or_else(|| eyre!("no --authorized-keys and no HOME to find ~/.ssh/authorized_keys"))?;
    let authorized = AuthorizedFile::new(path);
    let count = authorized.count().wrap_err("the authorized keys file")?;
    tracing::info!(file = %authorized.path().display(), keys = count, "authorized keys");

    let prices = match &cli.prices {
        Some(path) => Some(Arc::new(Prices::load(path)?)),
        None => None,
    };
    let mut client = ClientConfig::new(&cli.url)?;
    client.token = cli.token.clone().filter(|t| !t.is_empty());
    // Context for the first viewer: the newest events, as orchestrator-tui
    // starts; after a reconnection the client resumes by position instead.
    client.last = (cli.history > 0).then_some(cli.history as usize);
    let cancel = CancellationToken::new();
    let upstream = Upstream::spawn(client, cli.max_events, cli.max_memory, cancel.child_token());

    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .wrap_err_with(|| format!("cannot listen on {}", cli.listen))?;
    let local = listener.local_addr()?;
    println!(
        "orchestrator-ssh: listening on {local}; ssh -p {} {}",
        local.port(),
        local.ip()
    );
    tracing::info!(listen = %local, bridge = %upstream.label, "serving the monitor over SSH");

    let shared = Arc::new(Shared {
        upstream,
        authorized,
        sessions: Arc::new(AtomicUsize::new(0)),
        max_sessions: cli.max_sessions as usize,
        login_grace: cli.login_grace,
        prices,
    });
    let config = Arc::new(server::config(host_key, cli.idle_timeout));
    let server = tokio::spawn(server::serve(
        listener,
        config,
        shared,
        ConnectRate::new(cli.connect_rate),
        cancel.clone(),
    ));
    orchestrator_events::process::stop_signal().await;
    cancel.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    Ok(())
}
