//! Logging setup: tracing to stderr and/or a file at `--log-level`, plus the one startup line
//! that is printed whatever the level (target [`STARTUP_TARGET`]).

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::sync::Arc;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::Config;

/// Events with this target always reach stderr (the "ready" line).
pub const STARTUP_TARGET: &str = "ferrograph::startup";

pub fn init(config: &Config) -> anyhow::Result<()> {
    let level = LevelFilter::from_level(config.log_level.to_tracing());
    let stderr_filter = if config.also_log_to_stderr {
        Targets::new()
            .with_default(level)
            .with_target(STARTUP_TARGET, LevelFilter::INFO)
    } else {
        Targets::new()
            .with_default(LevelFilter::OFF)
            .with_target(STARTUP_TARGET, LevelFilter::INFO)
    };
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(stderr_filter);
    let file_layer = if config.log_file.is_empty() {
        None
    } else {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.log_file)
            .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", config.log_file))?;
        Some(
            tracing_subscriber::fmt::layer()
                .with_writer(Arc::new(file))
                .with_ansi(false)
                .with_filter(
                    Targets::new()
                        .with_default(level)
                        .with_target(STARTUP_TARGET, LevelFilter::INFO),
                ),
        )
    };
    tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    Ok(())
}
