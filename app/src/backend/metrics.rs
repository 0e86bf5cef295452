//! What the app counts and times, for `GET /metrics` (the exporter is the server's,
//! `server/src/metrics.rs`, installed only with `METRICS_ADDR`; without it each call here
//! is one atomic load). Labels are provider names, issuer URLs and fixed words: never a
//! person, an address, a token or a session id.

use std::time::Duration;

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

/// A sign-in start that failed (unknown provider, provider down, quota used up), with the
/// failure's fixed word (`AppError::label`).
pub fn sign_in_start_failed(provider: &str, reason: &'static str) {
    failed(provider, "start", reason);
}

/// A callback's outcome (`None`: signed in or linked; else the failure's word) and how long
/// it took to answer.
pub fn callback_answered(provider: &str, failure: Option<&'static str>, took: Duration) {
    metrics::histogram!(SIGN_IN_CALLBACK_SECONDS, "provider" => provider.to_owned())
        .record(took.as_secs_f64());
    match failure {
        None => {
            metrics::counter!(SIGN_INS_COMPLETED, "provider" => provider.to_owned()).increment(1)
        }
        Some(reason) => failed(provider, "callback", reason),
    }
}

fn failed(provider: &str, stage: &'static str, reason: &'static str) {
    metrics::counter!(
        SIGN_INS_FAILED,
        "provider" => provider.to_owned(),
        "stage" => stage,
        "reason" => reason,
    )
    .increment(1);
}

/// How a step's call to the provider went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderCall {
    Answered,
    /// It failed, timed out or answered something unusable.
    Failed,
    /// Nothing was called (the person said no at the provider: its answer said so).
    NotMade,
}

/// Calls to a provider in one step of a sign-in.
pub fn provider_called(provider: &str, step: &'static str, call: ProviderCall, took: Duration) {
    if call == ProviderCall::NotMade {
        return;
    }
    metrics::histogram!(PROVIDER_CALL_SECONDS, "provider" => provider.to_owned(), "step" => step)
        .record(took.as_secs_f64());
    if call == ProviderCall::Failed {
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
