//! Stopping without cutting anyone off. On SIGTERM (or Ctrl-C) the server stops accepting
//! connections (a proxy sends new requests to the other instances; HAProxy retries a
//! refused connection elsewhere) and lets the requests in flight finish, for at most
//! `SHUTDOWN_DRAIN_SECS`; then it exits whatever is still running, saying so.

use std::time::Duration;

use tokio::sync::watch;

/// Resolves once the process is asked to stop, for as many waiters as need it.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Starts listening for SIGTERM and Ctrl-C.
    pub fn on_signals() -> Stopping {
        let (tell, stopping) = watch::channel(false);
        tokio::spawn(async move {
            signal().await;
            let _ = tell.send(true);
        });
        Stopping(stopping)
    }

    pub async fn requested(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        if let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            sig.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("stopping: no new connections; finishing the requests in flight");
}

/// Runs `serving` (a server with graceful shutdown on `stopping`) to its end, or until
/// `drain` has passed since the stop was asked for.
pub async fn serve_until_drained<F>(serving: F, stopping: Stopping, drain: Duration)
where
    F: std::future::Future<Output = std::io::Result<()>>,
{
    let deadline = async {
        stopping.requested().await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        result = serving => {
            if let Err(err) = result {
                tracing::error!(error = %err, "server error");
            } else {
                tracing::info!("stopped: every request finished");
            }
        }
        _ = deadline => {
            tracing::warn!(?drain, "stopped with requests still running (SHUTDOWN_DRAIN_SECS)");
        }
    }
}
