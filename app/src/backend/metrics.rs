//! What the app counts and times, for `GET /metrics` (the exporter is the server's,
//! `server/src/metrics.rs`, installed only with `METRICS_ADDR`; without it each call here
//! is one atomic load). Labels are provider names, issuer URLs and fixed words: never a
//! person, an address, a token or a session id.

use std::time::Duration;

use crate::error::{AppError, FailureKind};

pub const SIGN_INS_STARTED: &str = "signin_started_total";
pub const SIGN_INS_COMPLETED: &str = "signin_completed_total";
pub const SIGN_INS_FAILED: &str = "signin_failed_total";
pub const SIGN_IN_CALLBACK_SECONDS: &str = "signin_callback_duration_seconds";
pub const PROVIDER_CALL_SECONDS: &str = "provider_call_duration_seconds";
pub const PROVIDER_CALL_FAILURES: &str = "provider_call_failures_total";
pub const SESSIONS_WRITTEN: &str = "sessions_written_total";
pub const DATABASE_UNAVAILABLE: &str = "db_unavailable_total";

/// Help texts, for the exporter to publish once.
pub fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(
        SIGN_INS_STARTED,
        "Sign-ins started (browsers sent to a provider)"
    );
    describe_counter!(
        SIGN_INS_COMPLETED,
        "Callbacks that signed someone in or linked a sign-in method, by provider"
    );
    describe_counter!(
        SIGN_INS_FAILED,
        "Sign-in starts and callbacks that failed, by provider and reason"
    );
    describe_histogram!(
        SIGN_IN_CALLBACK_SECONDS,
        Unit::Seconds,
        "Time to answer a provider's callback, provider calls included"
    );
    describe_histogram!(
        PROVIDER_CALL_SECONDS,
        Unit::Seconds,
        "Time spent calling a provider (step: start = request token, callback = exchange and profile)"
    );
    describe_counter!(
        PROVIDER_CALL_FAILURES,
        "Provider calls that failed, timed out or answered something unusable"
    );
    describe_counter!(SESSIONS_WRITTEN, "Session records written to the database");
    describe_counter!(
        DATABASE_UNAVAILABLE,
        "Database calls that failed for want of a database: unreachable, or no pooled connection free within 3 s (the request is answered 503)"
    );
}

pub fn sign_in_started(provider: &str) {
    metrics::counter!(SIGN_INS_STARTED, "provider" => provider.to_owned()).increment(1);
}

/// A sign-in start that failed (unknown provider, provider down, quota used up).
pub fn sign_in_start_failed(provider: &str, err: &AppError) {
    failed(provider, "start", err);
}

/// A callback's outcome and how long it took to answer.
pub fn callback_answered(provider: &str, outcome: Result<(), &AppError>, took: Duration) {
    metrics::histogram!(SIGN_IN_CALLBACK_SECONDS, "provider" => provider.to_owned())
        .record(took.as_secs_f64());
    match outcome {
        Ok(()) => {
            metrics::counter!(SIGN_INS_COMPLETED, "provider" => provider.to_owned()).increment(1)
        }
        Err(err) => failed(provider, "callback", err),
    }
}

fn failed(provider: &str, stage: &'static str, err: &AppError) {
    metrics::counter!(
        SIGN_INS_FAILED,
        "provider" => provider.to_owned(),
        "stage" => stage,
        "reason" => reason(err),
    )
    .increment(1);
}

/// Calls to a provider in one step of a sign-in.
pub fn provider_called(
    provider: &str,
    step: &'static str,
    outcome: Result<(), &AppError>,
    took: Duration,
) {
    if let Err(AppError::Cancelled) = outcome {
        // The person said no at the provider: its answer said so, nothing was called.
        return;
    }
    metrics::histogram!(PROVIDER_CALL_SECONDS, "provider" => provider.to_owned(), "step" => step)
        .record(took.as_secs_f64());
    if outcome.is_err_and(is_provider_failure) {
        metrics::counter!(PROVIDER_CALL_FAILURES, "provider" => provider.to_owned(), "step" => step)
            .increment(1);
    }
}

/// `operation`: `create`, `save` or `delete`.
pub fn session_written(operation: &'static str) {
    metrics::counter!(SESSIONS_WRITTEN, "operation" => operation).increment(1);
}

/// A database call that could not get a connection (see `db::is_unavailable`).
pub fn database_unavailable() {
    metrics::counter!(DATABASE_UNAVAILABLE).increment(1);
}

/// The provider, not the person or this server, is why it failed.
fn is_provider_failure(err: &AppError) -> bool {
    matches!(
        err,
        AppError::SignInFailed {
            kind: FailureKind::ProviderFailed,
            ..
        }
    )
}

/// A fixed word per kind of failure (never the message, which may name a provider's answer).
fn reason(err: &AppError) -> &'static str {
    match err {
        AppError::Cancelled => "cancelled",
        AppError::SignInFailed { kind, .. } => match kind {
            FailureKind::BadRequest => "bad_request",
            FailureKind::ProviderFailed => "provider_failed",
            FailureKind::Conflict => "conflict",
        },
        AppError::UnknownProvider => "unknown_provider",
        AppError::NotSignedIn => "not_signed_in",
        AppError::Forbidden => "forbidden",
        AppError::Internal => "internal",
        AppError::Unavailable => "unavailable",
        AppError::ServerFn(_) => "internal",
    }
}
