//! What every network command starts from: the client configured from the environment and
//! named in the user agent, the async runtime it runs on, and whether to draw progress bars.

use std::io::IsTerminal;

use anyhow::Context;
use hub_api::ClientBuilder;
use hub_url::env::HF_HUB_DISABLE_PROGRESS_BARS;

/// The client of the environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, proxies…),
/// announcing itself as `hub-cli/<version>`.
pub(crate) fn client_builder() -> anyhow::Result<ClientBuilder> {
    Ok(ClientBuilder::from_env()?.library("hub-cli", env!("CARGO_PKG_VERSION")))
}

/// Whether progress bars may be drawn (`--quiet` aside).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgressBars {
    /// stderr is a terminal and `HF_HUB_DISABLE_PROGRESS_BARS` is not true.
    pub(crate) shown: bool,
}

impl ProgressBars {
    /// Reads `HF_HUB_DISABLE_PROGRESS_BARS`, and looks whether stderr is a terminal.
    pub(crate) fn from_env() -> ProgressBars {
        let disabled =
            hub_url::env::flag(std::env::var_os(HF_HUB_DISABLE_PROGRESS_BARS).as_deref());
        ProgressBars { shown: !disabled && std::io::stderr().is_terminal() }
    }
}

/// The runtime the async API runs on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Ends the process after a write to stdout failed: quietly with success when the reader went
/// away (a closed pipe), else with the error.
pub(crate) fn stdout_failed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {error}");
    std::process::exit(1)
}
