//! What every network command starts from: the client configured from the environment and
//! named in the user agent, telling its retries on stderr; the async runtime it runs on; and
//! whether to draw progress bars (and the one set of bars, so that a retry's line is printed
//! above them, never inside one).

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use hub_api::{ClientBuilder, RetryNotice};
use hub_url::RedactedUrl;
use hub_url::env::HF_HUB_DISABLE_PROGRESS_BARS;
use indicatif::{MultiProgress, ProgressDrawTarget};

/// The client of the environment (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, proxies…),
/// announcing itself as `hub-cli/<version>`, and printing each retry on stderr.
pub(crate) fn client_builder() -> anyhow::Result<ClientBuilder> {
    Ok(ClientBuilder::from_env()?
        .library("hub-cli", env!("CARGO_PKG_VERSION"))
        .on_retry(Arc::new(print_retry)))
}

/// One line on stderr per retry: `warning: huggingface.co/…/config.json: retrying in 4 s
/// (HTTP 503, attempt 2 of 5)`, printed above the progress bars when they are drawn.
fn print_retry(notice: &RetryNotice) {
    let line = format!("warning: {}: {notice}", RedactedUrl(&notice.url));
    match BARS.get() {
        Some(bars) => bars.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// The progress bars of this process, drawn on stderr.
pub(crate) fn progress_bars() -> MultiProgress {
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())).clone()
}

/// Whether progress bars may be drawn (`--quiet` aside).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgressBars {
    /// stderr is a terminal and `HF_HUB_DISABLE_PROGRESS_BARS` is not true.
    pub(crate) shown: bool,
}

impl ProgressBars {
    /// Reads `HF_HUB_DISABLE_PROGRESS_BARS`, and looks whether stderr is a terminal.
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
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
