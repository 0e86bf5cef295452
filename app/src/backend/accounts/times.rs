//! Times as the account page, API token list and operators' commands print them.

use time::OffsetDateTime;

/// "2026-12-06 14:03 UTC".
pub fn format_time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// [`format_time`] of unix seconds; "unknown" when there are none (or out of range).
pub fn format_unix(at: Option<i64>) -> String {
    at.and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
        .map(format_time)
        .unwrap_or_else(|| "unknown".to_owned())
}
