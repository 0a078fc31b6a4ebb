//! Redis failing under load: stopped and restarted (its data gone), and cut
//! off by a network partition while it keeps its data. No request fails, and
//! no read after Redis is back shows a value older than an acknowledged write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use xentree::proto as pb;

use crate::envoy::free_port;
use crate::helpers::*;
use crate::services::OwnRedis;

/// A TCP proxy in front of Redis that can be cut (every connection dropped,
/// new ones closed at once) and healed: a partition in which Redis keeps its data.
struct Partition {
    port: u16,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Partition {
    async fn start(upstream_port: u16) -> Partition {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let acceptor = {
            let (cut, links) = (cut.clone(), links.clone());
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        continue; // dropped: the client sees its connection closed
                    }
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            })
        };
        Partition { port, cut, links, acceptor }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut();
    }
}

async fn profile(app: &TestApp, user: &str) -> Result<pb::Profile, tonic::Status> {
    app.xp().get_profile(app.as_user(user, pb::GetProfileRequest {})).await.map(tonic::Response::into_inner)
}

async fn streak(app: &TestApp, user: &str) -> pb::StreakStatus {
    let request = app.as_user(user, pb::GetStreakStatusRequest {});
    app.streaks().get_streak_status(request).await.expect("streak read").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// Redis stopped and restarted during a read and write load: no request fails,
/// and no read returns less than the XP acknowledged before it started.
async fn redis_restart_under_load_fails_nothing_and_serves_nothing_stale() {
    let mut redis = OwnRedis::start(free_port());
    let url = redis.url();
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| settings.redis_url = url).await;
    let users = ["r-a", "r-b", "r-c"];
    for (index, user) in users.iter().enumerate() {
        app.create_user(user, &format!("restart{index}"), "UTC").await;
    }
    let acknowledged: HashMap<&str, AtomicI64> =
        users.iter().map(|user| (*user, AtomicI64::new(0))).collect();
    let stop = AtomicBool::new(false);

    let writer = |user: &'static str| {
        let (app, acknowledged, stop) = (&app, &acknowledged, &stop);
        async move {
            let mut serial = 0;
            while !stop.load(Ordering::Relaxed) {
                serial += 1;
                let event = segment(&format!("{user}-{serial}"), user, "2026-06-10T11:00:00Z", 2);
                app.ingest(vec![event]).await; // panics on any failure
                acknowledged[user].fetch_add(2, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            serial
        }
    };
    let reader = |user: &'static str| {
        let (app, acknowledged, stop) = (&app, &acknowledged, &stop);
        async move {
            let mut reads = 0;
            while !stop.load(Ordering::Relaxed) {
                let floor = acknowledged[user].load(Ordering::SeqCst);
                let total = i64::from(profile(app, user).await.expect("profile read").total_xp);
                assert!(total >= floor, "{user}: read {total} XP after {floor} was acknowledged");
                if floor > 0 {
                    assert_eq!(streak(app, user).await.current_streak, 1, "{user}: streak after a write");
                }
                reads += 1;
            }
            reads
        }
    };
    let chaos = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        redis.stop();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        redis = OwnRedis::start(redis.port);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::Relaxed);
    };
    let writers = futures::future::join_all(users.map(writer));
    let readers = futures::future::join_all(users.iter().flat_map(|user| [reader(user), reader(user)]));
    let (writes, reads, ()) = futures::join!(writers, readers, chaos);
    println!(
        "redis restart: {} writes and {} reads, none failed",
        writes.iter().sum::<i32>(),
        reads.iter().sum::<i32>()
    );

    // After the restart: every read equals the store of record, and is cached again.
    for user in users {
        let stats = app.stats(user).await;
        assert_eq!(i64::from(profile(&app, user).await.unwrap().total_xp), stats.total_xp);
        assert_eq!(stats.total_xp, acknowledged[user].load(Ordering::SeqCst));
    }
    assert!(!redis.keys("*:profile").is_empty(), "reads are cached again after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// Redis unreachable but keeping its data: a write during the partition is
/// never hidden by the entry cached before it, right after Redis is reachable again.
async fn redis_partition_keeps_no_stale_entry() {
    let redis = OwnRedis::start(free_port());
    let partition = Partition::start(redis.port).await;
    let url = partition.url();
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| settings.redis_url = url).await;
    app.create_user("p1", "partitioned", "UTC").await;

    for round in 1..=3i32 {
        // Warm the cache with the current profile and streak.
        let before = profile(&app, "p1").await.unwrap();
        assert_eq!(before.total_xp, 10 * (round - 1));
        streak(&app, "p1").await;
        assert!(!redis.keys("*{p1}:profile").is_empty(), "round {round}: the profile is cached");

        // Partition: the write lands, its invalidation cannot reach Redis.
        partition.cut();
        let report = app.ingest(vec![segment(&format!("p-{round}"), "p1", "2026-06-10T11:00:00Z", 10)]).await;
        assert_eq!(report.accepted, 1);
        assert_eq!(
            profile(&app, "p1").await.unwrap().total_xp,
            10 * round,
            "round {round}: during the partition"
        );
        assert!(!redis.keys("*{p1}:profile").is_empty(), "round {round}: Redis still holds the old entry");

        // Healed: the very next reads show the write, not the entry cached before it.
        partition.heal();
        for _ in 0..5 {
            assert_eq!(
                profile(&app, "p1").await.unwrap().total_xp,
                10 * round,
                "round {round}: after the partition"
            );
            assert_eq!(streak(&app, "p1").await.current_streak, 1);
        }
    }
}
