//! Log setup. `RUST_LOG` overrides the default filter; `LOG_FORMAT` picks human-readable
//! lines (`text`, the default) or one JSON object per line (`json`) for log collectors.
//! Colours only on a terminal: a log file or a pipe gets no escape codes.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT` as set (text when unset or empty).
    pub fn from_env() -> Result<LogFormat, String> {
        match std::env::var("LOG_FORMAT").unwrap_or_default().trim() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "LOG_FORMAT must be `text` or `json`, not {:?}",
                other.chars().take(20).collect::<String>()
            )),
        }
    }
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        // Each line carries the fields of the spans it was logged in (the request id).
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}
