//! Real processes for end-to-end tests: the built binary as replicas, nginx in front of
//! them (deploy/nginx.conf), and a PostgreSQL cluster of a test's own (scripts/postgres).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{binary, client};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Polls `check` every 20 ms until it holds or `limit` passes; returns whether it held.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `skillsmap serve` as a child process, killed when dropped.
pub struct Replica {
    pub child: Child,
    pub port: u16,
    pub base: String,
}

impl Replica {
    /// Starts a replica on the store `db` (as `--db` takes it) with `args` and `env`; does not
    /// wait for it (see [`Replica::ready`]).
    pub fn spawn(db: &str, args: &[&str], env: &[(&str, &str)]) -> Replica {
        Replica::spawn_on(free_port(), None, db, args, env)
    }

    /// Like [`Replica::spawn`], on `port`, and with at most `files` open files if given
    /// (through `prlimit`, as an operator's limit would be).
    pub fn spawn_on(
        port: u16,
        files: Option<u64>,
        db: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Replica {
        let mut command = match files {
            Some(files) => {
                let mut command = Command::new("prlimit");
                command
                    .arg(format!("--nofile={files}:{files}"))
                    .arg("--")
                    .arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--db",
                db,
            ])
            .args(args)
            .env("SKILLSMAP_LOG", "warn,topojson=error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the binary starts");
        Replica {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until the replica answers `/healthz` (at most 60 s: it may be waiting for its store).
    pub async fn ready(&self) {
        let url = format!("{}/healthz", self.base);
        let up = eventually(Duration::from_secs(60), || async {
            client()
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert!(up, "the replica on port {} did not start", self.port);
    }

    /// SIGKILL: no shutdown, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// nginx balancing over some replicas with the repository's deploy/nginx.conf.
pub struct Nginx {
    child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    pub async fn start(replicas: &[&Replica]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        // nginx's workers (another user when started as root) make their buffers in there.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = free_port();
        let upstreams: String = replicas
            .iter()
            .map(|r| format!("server 127.0.0.1:{} max_fails=1 fail_timeout=2s;\n", r.port))
            .collect();
        let template = std::fs::read_to_string(repository().join("deploy/nginx.conf")).unwrap();
        let config = template
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
            .replace("@UPSTREAMS@", &upstreams);
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, config).unwrap();
        let child = Command::new(nginx())
            .arg("-c")
            .arg(&file)
            .arg("-e")
            .arg(dir.path().join("nginx-error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts (apt-get install nginx)");
        let base = format!("http://127.0.0.1:{port}");
        let url = format!("{base}/healthz");
        let up = eventually(Duration::from_secs(20), || async {
            client()
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert!(up, "nginx did not start");
        Nginx {
            child,
            base,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

/// A PostgreSQL cluster of the test's own, which the test may stop and start again.
pub struct PostgresCluster {
    dir: tempfile::TempDir,
    pub url: String,
}

impl PostgresCluster {
    pub fn start() -> PostgresCluster {
        let dir = tempfile::tempdir().unwrap();
        let url = postgres_script("start", dir.path());
        PostgresCluster { dir, url }
    }

    /// Stops the server (sessions are cut, as in a crash or a fail-over).
    pub fn stop(&self) {
        postgres_script("stop", self.dir.path());
    }

    pub fn restart(&self) {
        postgres_script("start", self.dir.path());
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        postgres_script("stop", self.dir.path());
    }
}

fn postgres_script(command: &str, dir: &Path) -> String {
    let output = Command::new("bash")
        .arg(repository().join("scripts/postgres"))
        .arg(command)
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "scripts/postgres {command} failed");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
