//! The cache on a real 3-node Redis Cluster started on loopback ports: reads
//! and invalidations, a user's slot moved between nodes, a node killed, and a
//! service started before any node is up.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::envoy::free_port;
use crate::helpers::*;

/// Starts the service with the cache on `cluster`.
async fn spawn_on(cluster: &RedisCluster) -> TestApp {
    let nodes = cluster.urls();
    spawn_app_with("2026-06-10T12:00:00Z", |settings| {
        // A REDIS_URL with nothing behind it: only the cluster may serve.
        settings.redis_url = format!("redis://127.0.0.1:{}/0", free_port());
        settings.redis_cluster_nodes = nodes;
    })
    .await
}

/// Changes the store of record behind the service's back, so that a read that
/// still shows the old value was served from the cache.
async fn set_total_xp(app: &TestApp, user_id: &str, total_xp: i64) {
    app.db()
        .await
        .execute("update user_stats set total_xp = $2 where user_id = $1", &[&user_id, &total_xp])
        .await
        .unwrap();
}

/// Reads the profile until it is cached on the cluster (the client connects
/// in the background, so the first reads may go to PostgreSQL only).
async fn read_until_cached(app: &TestApp, cluster: &RedisCluster, user_id: &str) {
    let key = app.state().cache.key(user_id, "profile");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        profile(app, user_id).await;
        if cluster.exists(&key) {
            return;
        }
        assert!(Instant::now() < deadline, "{key} never cached on the cluster");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
/// Reads are served from the cluster and every write invalidates them, for users on different nodes.
async fn cluster_serves_and_invalidates_reads() {
    let cluster = RedisCluster::start();
    let app = spawn_on(&cluster).await;
    // Users whose slots live on different nodes.
    let users = cluster.users_on_distinct_nodes(&app, 3);
    for (index, user_id) in users.iter().enumerate() {
        app.create_user(user_id, &format!("learner{index}"), "Europe/Berlin").await;
        app.ingest(vec![segment(&format!("{user_id}-e1"), user_id, "2026-06-10T11:00:00Z", 30)]).await;
        read_until_cached(&app, &cluster, user_id).await;
    }

    for user_id in &users {
        set_total_xp(&app, user_id, 999).await;
        assert_eq!(profile(&app, user_id).await.total_xp, 30, "served from the cluster");
        assert_eq!(streak(&app, user_id).await.current_streak, 1);
        // One user's keys share a slot, so one script could touch them all.
        let slots: Vec<u16> = ["profile", "streak", "generation"]
            .iter()
            .map(|kind| cluster.slot(&app.state().cache.key(user_id, kind)))
            .collect();
        assert!(slots.windows(2).all(|pair| pair[0] == pair[1]), "{slots:?}");
    }

    for user_id in &users {
        app.ingest(vec![segment(&format!("{user_id}-e2"), user_id, "2026-06-10T11:30:00Z", 5)]).await;
        assert_eq!(profile(&app, user_id).await.total_xp, 1004, "the write invalidated the entry");
    }
    read_until_cached(&app, &cluster, &users[0]).await;
    assert!(cluster.exists(&app.state().cache.key(&users[0], "generation")));
}

#[tokio::test]
/// A user's slot moves to another node mid-test: cached entries move with it and the client follows.
async fn client_follows_a_moved_slot() {
    let cluster = RedisCluster::start();
    let app = spawn_on(&cluster).await;
    app.create_user("mover", "mover", "UTC").await;
    app.ingest(vec![segment("e1", "mover", "2026-06-10T11:00:00Z", 30)]).await;
    read_until_cached(&app, &cluster, "mover").await;
    set_total_xp(&app, "mover", 999).await;
    assert_eq!(profile(&app, "mover").await.total_xp, 30, "served from the cluster");

    let key = app.state().cache.key("mover", "profile");
    let slot = cluster.slot(&key);
    let from = cluster.owner(slot);
    let to = cluster.ports.iter().copied().find(|port| *port != from).unwrap();
    cluster.move_slot(slot, from, to);
    assert_eq!(cluster.owner(slot), to);
    assert!(cluster.exists_on(to, &key), "the entry moved with its slot");

    // The next read is redirected (MOVED) and still served from the cache.
    assert_eq!(profile(&app, "mover").await.total_xp, 30, "served from the cluster after the move");
    // Invalidation reaches the new owner: the write is visible at once.
    app.ingest(vec![segment("e2", "mover", "2026-06-10T11:30:00Z", 5)]).await;
    assert_eq!(profile(&app, "mover").await.total_xp, 1004);
    read_until_cached(&app, &cluster, "mover").await;
    assert!(cluster.exists_on(to, &key) && !cluster.exists_on(from, &key));
    set_total_xp(&app, "mover", 5000).await;
    assert_eq!(profile(&app, "mover").await.total_xp, 1004, "cached on the new owner");
}

#[tokio::test]
/// The node holding a user's slot is killed: reads come from PostgreSQL without a client error, writes land.
async fn killed_node_sends_reads_to_postgres() {
    let mut cluster = RedisCluster::start();
    let app = spawn_on(&cluster).await;
    app.create_user("victim", "victim", "UTC").await;
    app.ingest(vec![segment("e1", "victim", "2026-06-10T11:00:00Z", 30)]).await;
    read_until_cached(&app, &cluster, "victim").await;

    let slot = cluster.slot(&app.state().cache.key("victim", "profile"));
    let port = cluster.owner(slot);
    cluster.kill(port);

    // Every read succeeds and shows the store of record, before and after the
    // other nodes notice the failure (node timeout 1 s: then the whole
    // cluster refuses, as it no longer covers every slot).
    set_total_xp(&app, "victim", 700).await;
    let until = Instant::now() + Duration::from_millis(2500);
    let mut reads = 0;
    while Instant::now() < until {
        let started = Instant::now();
        assert_eq!(profile(&app, "victim").await.total_xp, 700, "read from PostgreSQL");
        assert_eq!(streak(&app, "victim").await.current_streak, 1);
        assert!(started.elapsed() < Duration::from_secs(1), "a dead node does not stall reads");
        reads += 1;
    }
    assert!(reads > 5);
    app.ingest(vec![segment("e2", "victim", "2026-06-10T11:30:00Z", 5)]).await;
    assert_eq!(profile(&app, "victim").await.total_xp, 705);

    // The node comes back (empty) with its slots: entries are cached again.
    cluster.restart(port);
    read_until_cached(&app, &cluster, "victim").await;
    assert_eq!(profile(&app, "victim").await.total_xp, 705);
}

#[tokio::test]
/// The service starts while no cluster node is up, reads from PostgreSQL, and caches once the cluster forms.
async fn service_starts_before_the_cluster() {
    let ports = RedisCluster::pick_ports();
    let nodes: Vec<String> = ports.iter().map(|(port, _)| format!("redis://127.0.0.1:{port}")).collect();
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| {
        settings.redis_url = format!("redis://127.0.0.1:{}/0", free_port());
        settings.redis_cluster_nodes = nodes;
    })
    .await;
    app.create_user("early", "early", "UTC").await;
    app.ingest(vec![segment("e1", "early", "2026-06-10T11:00:00Z", 30)]).await;
    assert_eq!(profile(&app, "early").await.total_xp, 30);
    assert!(!app.state().cache.ping().await);

    let cluster = RedisCluster::start_on(ports);
    read_until_cached(&app, &cluster, "early").await;
    set_total_xp(&app, "early", 999).await;
    assert_eq!(profile(&app, "early").await.total_xp, 30, "served from the cluster");
}

/// Three `redis-server` primaries in cluster mode (no replicas, nothing
/// persisted), each with its data port and cluster bus port; killed on drop.
pub(crate) struct RedisCluster {
    pub(crate) ports: Vec<u16>,
    bus_ports: Vec<u16>,
    children: Vec<Option<Child>>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts three nodes on spare ports and forms the cluster.
    pub(crate) fn start() -> RedisCluster {
        RedisCluster::start_on(RedisCluster::pick_ports())
    }

    /// Three (data, bus) port pairs that were free a moment ago.
    pub(crate) fn pick_ports() -> Vec<(u16, u16)> {
        (0..3).map(|_| (free_port(), free_port())).collect()
    }

    /// Starts three nodes on `ports` and forms the cluster.
    pub(crate) fn start_on(ports: Vec<(u16, u16)>) -> RedisCluster {
        let dir = std::env::temp_dir().join(format!("xentree-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cluster = RedisCluster {
            ports: ports.iter().map(|(port, _)| *port).collect(),
            bus_ports: ports.iter().map(|(_, bus)| *bus).collect(),
            children: Vec::new(),
            dir,
        };
        for index in 0..3 {
            let child = cluster.spawn_node(index);
            cluster.children.push(Some(child));
        }
        for port in &cluster.ports {
            wait_for(|| redis_cli(*port, &["PING"]).is_some_and(|reply| reply.trim() == "PONG"), "node up");
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for port in &cluster.ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let created = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli on PATH (scripts/services installs it)");
        assert!(created.status.success(), "cluster create: {}", String::from_utf8_lossy(&created.stdout));
        cluster.wait_ok();
        cluster
    }

    fn spawn_node(&self, index: usize) -> Child {
        let port = self.ports[index].to_string();
        let config = self.dir.join(format!("nodes-{port}.conf"));
        Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--cluster-enabled", "yes"])
            .args(["--cluster-port", &self.bus_ports[index].to_string()])
            .arg("--cluster-config-file")
            .arg(&config)
            // Failures are noticed within a second, so tests stay short.
            .args(["--cluster-node-timeout", "1000", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/services installs it)")
    }

    /// Waits until every running node reports `cluster_state:ok`.
    fn wait_ok(&self) {
        let running: Vec<u16> = self
            .ports
            .iter()
            .zip(&self.children)
            .filter(|(_, child)| child.is_some())
            .map(|(port, _)| *port)
            .collect();
        wait_for(
            || {
                running.iter().all(|port| {
                    redis_cli(*port, &["CLUSTER", "INFO"])
                        .is_some_and(|info| info.contains("cluster_state:ok"))
                })
            },
            "cluster_state:ok",
        );
    }

    /// `redis://` URLs of every node, as REDIS_CLUSTER_NODES takes them.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.ports.iter().map(|port| format!("redis://127.0.0.1:{port}")).collect()
    }

    fn connection(&self, port: u16) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap().get_connection().unwrap()
    }

    /// The hash slot of `key`.
    pub(crate) fn slot(&self, key: &str) -> u16 {
        let port = self.any_running_port();
        redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query(&mut self.connection(port)).unwrap()
    }

    fn any_running_port(&self) -> u16 {
        self.ports
            .iter()
            .zip(&self.children)
            .find(|(_, child)| child.is_some())
            .map(|(port, _)| *port)
            .unwrap()
    }

    fn node_id(&self, port: u16) -> String {
        redis::cmd("CLUSTER").arg("MYID").query(&mut self.connection(port)).unwrap()
    }

    /// The port of the node that owns `slot`.
    pub(crate) fn owner(&self, slot: u16) -> u16 {
        let port = self.any_running_port();
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(&mut self.connection(port)).unwrap();
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let owns = fields.iter().skip(8).any(|range| {
                let mut bounds = range.split('-').map(|bound| bound.parse::<u16>());
                match (bounds.next(), bounds.next()) {
                    (Some(Ok(first)), Some(Ok(last))) => (first..=last).contains(&slot),
                    (Some(Ok(only)), None) => only == slot,
                    _ => false,
                }
            });
            if owns {
                let address = fields[1].split('@').next().unwrap();
                return address.rsplit(':').next().unwrap().parse().unwrap();
            }
        }
        panic!("no node owns slot {slot}:\n{nodes}");
    }

    /// Picks `count` user ids whose keys live on different nodes.
    fn users_on_distinct_nodes(&self, app: &TestApp, count: usize) -> Vec<String> {
        let mut owners = Vec::new();
        let mut users = Vec::new();
        for candidate in 0..1000 {
            let user_id = format!("user{candidate}");
            let owner = self.owner(self.slot(&app.state().cache.key(&user_id, "profile")));
            if !owners.contains(&owner) {
                owners.push(owner);
                users.push(user_id);
            }
            if users.len() == count {
                return users;
            }
        }
        panic!("no {count} users on distinct nodes");
    }

    /// Tells whether `key` exists anywhere in the cluster.
    pub(crate) fn exists(&self, key: &str) -> bool {
        self.exists_on(self.owner(self.slot(key)), key)
    }

    /// Tells whether `key` exists on the node at `port` (asked directly, no redirect).
    pub(crate) fn exists_on(&self, port: u16, key: &str) -> bool {
        // READONLY-free EXISTS on a node that does not own the slot answers
        // MOVED, which is an error here: count that as absent.
        redis::cmd("EXISTS").arg(key).query::<i64>(&mut self.connection(port)).is_ok_and(|count| count == 1)
    }

    /// Moves one slot and its keys from one node to another, the way
    /// `redis-cli --cluster reshard` does it, then tells every node.
    pub(crate) fn move_slot(&self, slot: u16, from: u16, to: u16) {
        let (from_id, to_id) = (self.node_id(from), self.node_id(to));
        let mut source = self.connection(from);
        let mut target = self.connection(to);
        let setslot = |state: &str, id: &str| {
            let mut command = redis::cmd("CLUSTER");
            command.arg("SETSLOT").arg(slot).arg(state).arg(id);
            command
        };
        let _: () = setslot("IMPORTING", &from_id).query(&mut target).unwrap();
        let _: () = setslot("MIGRATING", &to_id).query(&mut source).unwrap();
        loop {
            let keys: Vec<String> =
                redis::cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(100).query(&mut source).unwrap();
            if keys.is_empty() {
                break;
            }
            let _: () = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(to)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut source)
                .unwrap();
        }
        for port in &self.ports {
            let _: () = setslot("NODE", &to_id).query(&mut self.connection(*port)).unwrap();
        }
        self.wait_ok();
    }

    /// Kills the node at `port` (SIGKILL: nothing is saved).
    pub(crate) fn kill(&mut self, port: u16) {
        let index = self.ports.iter().position(|candidate| *candidate == port).unwrap();
        if let Some(mut child) = self.children[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed node at `port` again; its config file brings it back
    /// into the cluster with its slots, empty.
    pub(crate) fn restart(&mut self, port: u16) {
        let index = self.ports.iter().position(|candidate| *candidate == port).unwrap();
        let child = self.spawn_node(index);
        self.children[index] = Some(child);
        wait_for(|| redis_cli(port, &["PING"]).is_some_and(|reply| reply.trim() == "PONG"), "node restarted");
        self.wait_ok();
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().filter_map(Option::take) {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `redis-cli -p port args…`; `None` when it fails or cannot connect.
fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.success() && !text.starts_with("Could not connect")).then_some(text)
}

/// Polls `condition` for up to 20 s (start-up and gossip only: nothing is timed).
fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
