//! Debian's HAProxy in front of instances, with the configuration the README shows
//! (`.dev/haproxy/social-signin.cfg`), addresses given in its environment.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../.dev/haproxy/social-signin.cfg"
);

pub struct Haproxy {
    child: Child,
    pub base_url: String,
}

impl Haproxy {
    /// HAProxy on `port`, balancing over the instances on `a` and `b` (127.0.0.1).
    pub fn start(port: u16, a: u16, b: u16) -> Haproxy {
        let child = Command::new("haproxy")
            .args(["-db", "-f", CONFIG])
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("INSTANCE_A", format!("127.0.0.1:{a}"))
            .env("INSTANCE_B", format!("127.0.0.1:{b}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (Debian's package; .dev/test-all installs it)");
        Haproxy {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Waits until the proxy sends requests to each of `servers` (`a`, `b`) and only them.
    pub async fn wait_for_servers(&self, servers: &[&str], limit: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        let mut wanted: Vec<&str> = servers.to_vec();
        wanted.sort_unstable();
        while Instant::now() < deadline {
            let mut seen = Vec::new();
            for _ in 0..servers.len() * 4 {
                match client.get(self.url("/healthz")).send().await {
                    Ok(response) if response.status() == 200 => {
                        seen.push(served_by(&response));
                    }
                    _ => seen.push("none".into()),
                }
            }
            seen.sort_unstable();
            seen.dedup();
            if seen == wanted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the proxy never sent requests to exactly {servers:?}");
    }
}

/// The instance HAProxy sent the request to (`X-Served-By`).
pub fn served_by(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-served-by")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
        .to_owned()
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
