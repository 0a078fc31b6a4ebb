//! The real Envoy in front of a test server: a config generated from the
//! repository's `envoy.yaml` with free ports and this build's descriptor set,
//! started and awaited until ready, killed when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::helpers::TestApp;

/// How long Envoy may take to load its config and open the listener.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running Envoy, stopped on drop.
pub(crate) struct Envoy {
    child: Child,
    /// `http://127.0.0.1:<port>`, the REST listener.
    pub(crate) base_url: String,
    dir: PathBuf,
}

impl Envoy {
    /// Starts Envoy in front of `app`.
    pub(crate) async fn start(app: &TestApp) -> Envoy {
        Envoy::start_for(app.addr()).await
    }

    /// Starts Envoy forwarding to `upstream`, which may have nothing listening.
    pub(crate) async fn start_for(upstream: SocketAddr) -> Envoy {
        let listener_port = free_port();
        let admin_port = free_port();
        let config = config(listener_port, admin_port, upstream.port(), &descriptor_path());
        Envoy::start_with(config, listener_port, admin_port).await
    }

    /// Starts Envoy with `config`, which listens on `listener_port` and serves
    /// its admin API on `admin_port`.
    pub(crate) async fn start_with(config: String, listener_port: u16, admin_port: u16) -> Envoy {
        let dir = std::env::temp_dir().join(format!("xentree-envoy-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("envoy work dir");
        let config_path = dir.join("envoy.yaml");
        std::fs::write(&config_path, config).expect("write envoy config");
        let log = std::fs::File::create(dir.join("envoy.log")).expect("envoy log");

        let child = Command::new(envoy_bin())
            .arg("-c")
            .arg(&config_path)
            // Tests run several Envoys at once: no shared-memory hot-restart
            // region, which every instance would otherwise claim under base id 0.
            .arg("--disable-hot-restart")
            .args(["--concurrency", "1", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("envoy log"))
            .stderr(log)
            .spawn()
            .expect("start envoy");
        let mut envoy = Envoy { child, base_url: format!("http://127.0.0.1:{listener_port}"), dir };
        envoy.wait_ready(admin_port).await;
        envoy
    }

    /// The URL of a REST path.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn wait_ready(&mut self, admin_port: u16) {
        let ready_url = format!("http://127.0.0.1:{admin_port}/ready");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll envoy") {
                panic!("envoy exited with {status} before it was ready:\n{}", self.log());
            }
            if let Ok(response) = client.get(&ready_url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return;
            }
            assert!(Instant::now() < deadline, "envoy not ready within {READY_TIMEOUT:?}:\n{}", self.log());
            // Readiness polling only: nothing is timed.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("envoy.log")).unwrap_or_default()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that was free a moment ago (the OS does not hand it out again at once).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("local addr").port()
}

/// The repository's `envoy.yaml` with the ports and descriptor path swapped.
/// Each substitution must hit, so a reshaped config fails here, not mysteriously later.
fn config(listener_port: u16, admin_port: u16, upstream_port: u16, descriptor: &Path) -> String {
    let original = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("envoy.yaml"))
        .expect("read envoy.yaml");
    let substitutions = [
        ("port_value: 9901", format!("port_value: {admin_port}")),
        ("port_value: 8080", format!("port_value: {listener_port}")),
        ("port_value: 50051", format!("port_value: {upstream_port}")),
        ("\"target/release/xentree.pb\"", format!("{:?}", descriptor.display().to_string())),
    ];
    let mut config = original;
    for (from, to) in substitutions {
        assert!(config.contains(from), "envoy.yaml no longer contains {from:?}");
        config = config.replace(from, &to);
    }
    config
}

/// The descriptor set that build.rs wrote for this build: `target/<profile>/xentree.pb`,
/// found beside the test binary (which lives in `target/<profile>/deps/`).
pub(crate) fn descriptor_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let from_exe = exe.parent().and_then(Path::parent).map(|profile| profile.join("xentree.pb"));
    let path = from_exe
        .filter(|path| path.exists())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/xentree.pb"));
    assert!(path.exists(), "descriptor set {} missing: build first", path.display());
    path
}

/// The Envoy binary: `XENTREE_ENVOY_BIN` (scripts/test sets it), else the
/// project virtualenv's, installed by `scripts/envoy --install-only`.
fn envoy_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("XENTREE_ENVOY_BIN").filter(|bin| !bin.is_empty()) {
            return PathBuf::from(bin);
        }
        let output = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/envoy"))
            .arg("--install-only")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/envoy --install-only");
        assert!(output.status.success(), "scripts/envoy --install-only failed");
        let path = String::from_utf8(output.stdout).expect("utf-8 path");
        PathBuf::from(path.trim())
    })
}
