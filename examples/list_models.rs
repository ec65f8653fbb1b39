//! Lists the models on the Hub made for a library, most downloaded first: a library name is a
//! tag, which the Hub gives every model whose card says `library_name: <name>`.
//!
//! ```text
//! cargo run -p hub-examples --example list_models -- [LIBRARY] [LIMIT]
//! ```
//!
//! - `LIBRARY`: else `HUB_EXAMPLE_LIBRARY`, else `transformers`.
//! - `LIMIT`: the most models to list; else `HUB_EXAMPLE_LIMIT`, else 20.
//!
//! The listing is a stream: its pages are fetched as it is read (the Hub's `Link` headers), and
//! no page is asked for once `LIMIT` models have come. The Hub is `HF_ENDPOINT`; a token
//! (`HF_TOKEN` or the token file) also lists its owner's private models.

// An example reads its settings from the environment (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
// Printing is what an example does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;

use hub_api::{ClientBuilder, ListOptions};

/// What to list.
struct Settings {
    library: String,
    limit: usize,
}

impl Settings {
    /// From the command line, else the environment, else the defaults.
    fn from_env() -> Result<Settings, Box<dyn Error>> {
        let mut args = std::env::args().skip(1);
        let mut setting = |var: &str, default: &str| {
            args.next().or_else(|| std::env::var(var).ok()).unwrap_or_else(|| default.to_owned())
        };
        let library = setting("HUB_EXAMPLE_LIBRARY", "transformers");
        let limit = setting("HUB_EXAMPLE_LIMIT", "20");
        let limit = limit.parse().map_err(|_| format!("LIMIT {limit:?} is not a whole number"))?;
        Ok(Settings { library, limit })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let settings = Settings::from_env()?;
    let client = ClientBuilder::from_env()?
        .library(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .build()?;

    let options = ListOptions::default()
        .with_filter(vec![settings.library.clone()])
        .with_sort("downloads".to_owned())
        .with_descending(true)
        .with_limit(settings.limit);
    println!("models for {} on {}, most downloaded first:", settings.library, client.endpoint());
    // A `Paginated` stream: it borrows nothing, pages are fetched as it is read.
    let mut models = client.list_models(&options);
    let mut count = 0;
    while let Some(model) = models.try_next().await? {
        // Fields the typed `RepoInfo` does not name are in `extra`, as the Hub sent them.
        let number = |field: &str| model.extra.get(field).and_then(|v| v.as_u64()).unwrap_or(0);
        println!(
            "  {:<40} {:>10} downloads {:>6} likes",
            model.id,
            number("downloads"),
            number("likes")
        );
        count += 1;
    }
    println!("{count} model(s)");
    Ok(())
}
