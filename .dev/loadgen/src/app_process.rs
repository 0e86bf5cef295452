//! The app under test as a child process: start-up time, CPU used, memory held.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::process::{Child, Command};

pub struct AppProcess {
    child: Child,
    pub pid: u32,
    pub startup: Duration,
}

impl AppProcess {
    /// Starts `binary` on `port`, reached by people at `public_url`, with `env`, and waits
    /// until `GET /` answers 200.
    pub async fn start(
        binary: &str,
        port: u16,
        public_url: &str,
        env: &[(String, String)],
    ) -> AppProcess {
        let mut command = Command::new(binary);
        command
            .envs(env.iter().cloned())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_URL", public_url);
        AppProcess::spawn(command, port).await
    }

    /// Spawns `command` (an app listening on `port`) and waits until `GET /` answers 200.
    pub async fn spawn(mut command: Command, port: u16) -> AppProcess {
        let base_url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let pid = child.id().expect("pid");
        let client = reqwest::Client::new();
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{base_url}/")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the app did not answer within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        AppProcess {
            child,
            pid,
            startup: started.elapsed(),
        }
    }

    /// (resident, peak resident, anonymous resident) memory in KiB. Resident memory also
    /// counts pages of the SQLite file mapped into memory (file-backed, reclaimable).
    /// Summed over the process and its descendants (Node's cluster workers).
    pub fn memory_kib(&self) -> (u64, u64, u64) {
        let mut total = (0, 0, 0);
        for pid in process_tree(self.pid) {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |name: &str| -> u64 {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0)
            };
            total.0 += field("VmRSS:");
            total.1 += field("VmHWM:");
            total.2 += field("RssAnon:");
        }
        total
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// HAProxy with `config` on `port`, in front of the app on `app_port` (both of the
/// configuration's servers), once it passes requests on.
pub async fn haproxy(config: &str, port: u16, app_port: u16) -> Child {
    let instance = format!("127.0.0.1:{app_port}");
    let child = Command::new("haproxy")
        .args(["-db", "-f", config])
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("INSTANCE_A", &instance)
        .env("INSTANCE_B", &instance)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("haproxy (Debian's package)");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return child;
            }
        }
        assert!(
            Instant::now() < deadline,
            "HAProxy did not pass requests on within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `pid` and every process below it (an app of several worker processes).
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    let mut next = 0;
    while next < pids.len() {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", pids[next]));
        for task in tasks.into_iter().flatten().flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        next += 1;
    }
    pids
}

/// CPU time of `pid` and its descendants.
pub fn cpu_of_tree(pid: u32) -> Duration {
    process_tree(pid).into_iter().map(cpu_of).sum()
}

pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // Linux reports in USER_HZ, 100 per second on every architecture we run on.
    Duration::from_millis(ticks * 10)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
