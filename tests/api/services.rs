//! PostgreSQL and Redis servers of a test's own, on spare loopback ports, for
//! tests that stop or break them: the shared ones stay untouched.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` child process.
pub(crate) struct OwnRedis {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts Redis on `port` (no persistence) and waits until it answers.
    pub(crate) fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/services installs it)");
        let mut redis = OwnRedis { port, child: Some(child) };
        redis.wait_until_up();
        redis
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn wait_until_up(&mut self) {
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if client.get_connection().and_then(|mut c| redis::cmd("PING").query::<String>(&mut c)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (its data is gone: nothing is persisted).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Returns the keys matching `pattern`.
    pub(crate) fn keys(&self, pattern: &str) -> Vec<String> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_connection().unwrap();
        redis::cmd("KEYS").arg(pattern).query(&mut connection).unwrap()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL cluster made with `initdb` in a temporary folder and run
/// with `pg_ctl` on a spare port; trust auth for `postgres`.
pub(crate) struct OwnPostgres {
    pub(crate) port: u16,
    data: PathBuf,
    bin: PathBuf,
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries under /usr/lib/postgresql (scripts/services installs them)")
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// Runs a PostgreSQL tool, as the `postgres` user when running as root
/// (PostgreSQL refuses to run as root).
fn run_as_postgres(program: &PathBuf, args: &[&str]) -> std::process::Output {
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let mut command = if is_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.args(args).stdin(Stdio::null()).output().expect("run a PostgreSQL tool")
}

impl OwnPostgres {
    /// Creates a cluster and starts it on `port`; `extra` adds server options
    /// (e.g. `-c shared_preload_libraries=pg_stat_statements`).
    pub(crate) fn start(port: u16, extra: &str) -> OwnPostgres {
        let data = std::env::temp_dir().join(format!("xentree-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&data).unwrap();
        let _ = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&data).status();
        let bin = postgres_bin();
        let data_text = data.to_str().unwrap().to_owned();
        let init = run_as_postgres(
            &bin.join("initdb"),
            &["-D", &data_text, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        let postgres = OwnPostgres { port, data, bin };
        postgres.start_again(extra);
        postgres
    }

    /// Starts the (stopped) server again on the same port.
    pub(crate) fn start_again(&self, extra: &str) {
        let options = format!("-p {} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off {extra}", self.port);
        let data = self.data.to_str().unwrap();
        let log = self.data.join("server.log");
        let started = run_as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", data, "-o", &options, "-l", log.to_str().unwrap(), "-w", "-t", "30", "start"],
        );
        assert!(started.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&started.stderr));
    }

    /// Stops the server immediately (in-flight transactions are aborted).
    pub(crate) fn stop(&self) {
        let data = self.data.to_str().unwrap();
        let _ = run_as_postgres(&self.bin.join("pg_ctl"), &["-D", data, "-m", "immediate", "-w", "stop"]);
    }

    /// The URL of a database on this server.
    pub(crate) fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
