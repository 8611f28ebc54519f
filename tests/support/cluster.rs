//! A three-node dqlite cluster of `dqlite-demo` processes on 127.0.0.1,
//! for the tests (tests/cli/dqlite.rs) and the benchmark (benches/dqlite.rs):
//! each node on free loopback ports and its own directory, stopped by its
//! process id when the cluster is dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Node {
    api: u16,
    db: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Stopped by SIGSTOP: up to the kernel, silent to its peers.
    paused: bool,
}

impl Node {
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.db)
    }
}

/// A three-node cluster of `dqlite-demo` processes on loopback ports.
pub struct Cluster {
    _base: tempfile::TempDir,
    nodes: Vec<Node>,
}

/// The database name strata uses on the cluster in these tests.
pub const DB: &str = "app";

impl Cluster {
    pub fn start() -> Cluster {
        let base = tempfile::tempdir().unwrap();
        let nodes = (0..3)
            .map(|i| {
                let dir = base.path().join(format!("node{i}"));
                std::fs::create_dir(&dir).unwrap();
                Node {
                    api: free_port(),
                    db: free_port(),
                    dir,
                    child: None,
                    paused: false,
                }
            })
            .collect();
        let mut cluster = Cluster { _base: base, nodes };
        for i in 0..3 {
            cluster.launch(i);
            if i == 0 {
                cluster.wait_for(|c| c.query_on(&[0], ".cluster").is_some(), "the first node");
            }
        }
        cluster.wait_for(
            |c| {
                c.query_on(&[0, 1, 2], ".cluster")
                    .is_some_and(|out| out.matches("voter").count() == 3)
            },
            "three voters",
        );
        cluster
    }

    fn launch(&mut self, i: usize) {
        let join = (i > 0).then(|| self.nodes[0].address());
        let node = &mut self.nodes[i];
        let log = std::fs::File::create(node.dir.join("node.log")).unwrap();
        let mut cmd = Command::new("dqlite-demo");
        cmd.arg("--api")
            .arg(format!("127.0.0.1:{}", node.api))
            .arg("--db")
            .arg(node.address())
            .arg("--dir")
            .arg(&node.dir);
        if let Some(join) = join {
            cmd.arg("--join").arg(join);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dqlite-demo starts");
        node.child = Some(child);
    }

    /// SIGKILL of node `i`, by its process id.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].paused = false;
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP of node `i`, by its process id: it holds its connections
    /// open and answers nothing, as a node behind a partition does.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
        self.nodes[i].paused = true;
    }

    /// SIGCONT of a paused node `i`.
    pub fn resume(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
        self.nodes[i].paused = false;
    }

    fn signal(&self, i: usize, signal: libc::c_int) {
        let child = self.nodes[i].child.as_ref().expect("a running node");
        // SAFETY: kill(2) with the pid of a child this process started and
        // has not yet waited for.
        let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "signal {signal} to node {i}");
    }

    /// Starts node `i` again on its directory and ports.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.launch(i);
    }

    /// The nodes running and not paused.
    pub fn alive(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].child.is_some() && !self.nodes[i].paused)
            .collect()
    }

    /// `dqlite://` with the addresses of `nodes`.
    pub fn url(&self, nodes: &[usize]) -> String {
        let seeds: Vec<String> = nodes.iter().map(|&i| self.nodes[i].address()).collect();
        format!("dqlite://{}/{DB}", seeds.join(","))
    }

    /// The `dqlite` shell's answer to `command` through `nodes`, if it
    /// answered in time.
    pub fn query_on(&self, nodes: &[usize], command: &str) -> Option<String> {
        self.query_on_db(nodes, DB, command)
    }

    fn query_on_db(&self, nodes: &[usize], db: &str, command: &str) -> Option<String> {
        let seeds: Vec<String> = nodes.iter().map(|&i| self.nodes[i].address()).collect();
        let out = Command::new("timeout")
            .args(["5", "dqlite", "-s", &seeds.join(","), db, command])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A query's rows through the live nodes, `|`-separated.
    pub fn query(&self, sql: &str) -> String {
        self.query_in(DB, sql)
    }

    /// [`Cluster::query`] on the cluster's database `db`.
    pub fn query_in(&self, db: &str, sql: &str) -> String {
        let alive = self.alive();
        let mut last = None;
        for _ in 0..50 {
            if let Some(out) = self.query_on_db(&alive, db, sql) {
                return out;
            }
            std::thread::sleep(Duration::from_millis(200));
            last = Some(sql);
        }
        panic!("the cluster did not answer {last:?}");
    }

    /// The index of the node that leads now.
    pub fn leader(&self) -> usize {
        let mut found = None;
        self.wait_for(
            |c| {
                let out = c.query_on(&c.alive(), ".leader").unwrap_or_default();
                found = c
                    .alive()
                    .into_iter()
                    .find(|&i| out.trim() == c.nodes[i].address());
                found.is_some()
            },
            "a leader",
        );
        found.unwrap()
    }

    fn wait_for(&self, mut ready: impl FnMut(&Cluster) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(self) {
            assert!(Instant::now() < deadline, "the cluster never had {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
