//! strata's own client for dqlite, a Raft-replicated SQLite: finds the
//! leader from a list of seed addresses, opens the database there, and
//! speaks the wire protocol ([`wire`]) over one TCP connection.
//!
//! A follower takes no queries ("not leader"), a leader can be replaced at
//! any time, and a COMMIT whose answer never arrived may still commit. So
//! every failure of the connection is [`EngineError::Lost`]: the runner
//! reconnects ([`Engine::reconnect`]) and reads `strata_history` before
//! deciding what to do next, never trusting the error.

pub mod wire;

use std::cell::RefCell;
use std::io::{BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::{Engine, EngineError, Row, TransactionState, Value};
use wire::{request, response, Body};

/// The URL scheme of a cluster.
pub const SCHEME: &str = "dqlite://";

/// dqlite's extended codes for a node that is not, or stopped being, the
/// leader (SQLITE_IOERR_NOT_LEADER, SQLITE_IOERR_LEADERSHIP_LOST).
const NOT_LEADER: u64 = 10250;
const LEADERSHIP_LOST: u64 = 10506;
/// SQLITE_ROW: an exec of a statement that yields rows, whose first step
/// (all of a RETURNING statement's changes) has run.
const SQLITE_ROW: u64 = 100;

/// A cluster named by a `dqlite://HOST:PORT[,HOST:PORT…]/DATABASE` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The seed addresses, as written: any node of the cluster will do.
    pub seeds: Vec<String>,
    /// The database's name on the cluster.
    pub database: String,
}

impl Cluster {
    /// Parses a `dqlite://` URL; the reason it is wrong otherwise.
    pub fn parse(url: &str) -> Result<Cluster, String> {
        let rest = url
            .strip_prefix(SCHEME)
            .ok_or_else(|| format!("a cluster URL starts with {SCHEME}"))?;
        let rest = rest.split('?').next().unwrap_or_default();
        let (hosts, database) = rest
            .split_once('/')
            .ok_or("it names no database: add /NAME after the addresses")?;
        if database.is_empty() || database.contains('/') || database.contains('\0') {
            return Err("the database name after the addresses must be one plain name".into());
        }
        let seeds: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .collect();
        if seeds.is_empty() {
            return Err("it names no node: give HOST:PORT of at least one".into());
        }
        for seed in &seeds {
            let port = seed.rsplit_once(':').map(|(_, p)| p);
            if port.is_none_or(|p| p.parse::<u16>().is_err()) {
                return Err(format!("'{seed}' is not HOST:PORT"));
            }
        }
        Ok(Cluster {
            seeds,
            database: database.to_string(),
        })
    }

    /// The URL, as the user would write it.
    pub fn url(&self) -> String {
        format!("{SCHEME}{}/{}", self.seeds.join(","), self.database)
    }
}

impl std::fmt::Display for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// One open connection: to the leader, with the database open on it.
struct Session {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    db: u64,
    leader: String,
}

/// A connection to a cluster's leader that finds the new one when it goes.
pub struct Client {
    cluster: Cluster,
    /// How long to look for a leader, and to wait for another writer.
    wait: Duration,
    session: RefCell<Option<Session>>,
    transaction: TransactionState,
}

fn lost(context: &str, err: impl std::fmt::Display) -> EngineError {
    EngineError::Lost(format!("{context}: {err}"))
}

/// How long one request may go unanswered before the connection counts as
/// lost: a leader that lost quorum holds a COMMIT until it steps down.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

fn connect(address: &str) -> Result<TcpStream, EngineError> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| lost(&format!("resolving {address}"), e))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                // Without it, each small request waits for the peer's
                // delayed ACK: a revision took 300 ms instead of 2.
                stream
                    .set_nodelay(true)
                    .and_then(|()| stream.set_read_timeout(Some(ANSWER_TIMEOUT)))
                    .and_then(|()| stream.set_write_timeout(Some(ANSWER_TIMEOUT)))
                    .map_err(|e| lost(&format!("connecting to {address}"), e))?;
                let mut stream = stream;
                stream
                    .write_all(&wire::PROTOCOL_VERSION.to_le_bytes())
                    .map_err(|e| lost(&format!("connecting to {address}"), e))?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(lost(
        &format!("connecting to {address}"),
        last.map_or_else(|| "no address".to_string(), |e| e.to_string()),
    ))
}

/// Reads one message. A node sends a long answer (the rows of
/// strata_history) as several messages, and does not set TCP_NODELAY
/// itself: without an immediate ACK from this side, each further message
/// waited out the kernel's delayed-ACK timer (40 ms per revision read).
fn receive(reader: &mut BufReader<TcpStream>) -> std::io::Result<wire::Message> {
    quick_ack(reader.get_ref());
    wire::recv(reader).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            std::io::Error::new(e.kind(), "the node closed the connection")
        }
        // A read timeout (EAGAIN on Linux): say what it means.
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            let waited = reader.get_ref().read_timeout().ok().flatten();
            let waited = waited.map_or(String::new(), |d| format!(" within {}s", d.as_secs()));
            std::io::Error::new(e.kind(), format!("the node did not answer{waited}"))
        }
        _ => e,
    })
}

/// Asks the kernel to ACK what arrives next at once (Linux's
/// TCP_QUICKACK, which it clears again by itself, hence before each read).
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a socket this process owns, with a c_int
    // option value of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_stream: &TcpStream) {}

/// The body of an exec or query request: the database, the SQL, its
/// values (a value the protocol cannot carry is refused here, unsent).
fn statement(db: u64, sql: &str, params: &[Value]) -> Result<Body, EngineError> {
    Body::default()
        .u64(db)
        .text(sql)
        .params(params)
        .map_err(|e| EngineError::Remote {
            code: 1,
            message: e.to_string(),
        })
}

/// Sends one request and reads its answer, a failure answer as an error.
fn call(
    reader: &mut BufReader<TcpStream>,
    writer: &mut BufWriter<TcpStream>,
    kind: u8,
    body: Body,
) -> Result<wire::Message, EngineError> {
    wire::send(writer, kind, body)
        .and_then(|()| writer.flush())
        .map_err(|e| lost("sending a request", e))?;
    let mut answer = receive(reader).map_err(|e| lost("reading the answer", e))?;
    if answer.kind == response::FAILURE {
        let (code, message) = answer
            .failure()
            .map_err(|e| lost("reading the answer", e))?;
        return Err(if code == NOT_LEADER || code == LEADERSHIP_LOST {
            EngineError::Lost(message)
        } else {
            EngineError::Remote { code, message }
        });
    }
    Ok(answer)
}

/// Asks the node at `address` which node leads: its address, or `None`
/// while there is no leader.
fn ask_leader(address: &str) -> Result<Option<String>, EngineError> {
    let stream = connect(address)?;
    // Any live node answers this at once: a node that does not is
    // skipped after a short wait, not the long one a COMMIT may need.
    stream
        .set_read_timeout(Some(CONNECT_TIMEOUT))
        .map_err(|e| lost(&format!("connecting to {address}"), e))?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| lost("connecting", e))?);
    let mut writer = BufWriter::new(stream);
    let mut answer = call(&mut reader, &mut writer, request::LEADER, Body::default().u64(0))
        .map_err(|e| lost(&format!("asking {address} for the leader"), e.message()))?;
    if answer.kind != response::NODE {
        return Err(lost("asking for the leader", "unexpected answer"));
    }
    let _id = answer.u64().map_err(|e| lost("asking for the leader", e))?;
    let leader = answer.text().map_err(|e| lost("asking for the leader", e))?;
    Ok((!leader.is_empty()).then_some(leader))
}

impl Client {
    /// Connects to the cluster's leader, waiting up to `wait` for one.
    pub fn connect(cluster: &Cluster, wait: Duration) -> Result<Client, EngineError> {
        let client = Client {
            cluster: cluster.clone(),
            wait,
            session: RefCell::new(None),
            transaction: TransactionState::default(),
        };
        client.open_session()?;
        Ok(client)
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The leader's address this client talks to.
    pub fn leader(&self) -> Option<String> {
        self.session.borrow().as_ref().map(|s| s.leader.clone())
    }

    fn open_session(&self) -> Result<(), EngineError> {
        *self.session.borrow_mut() = None;
        self.transaction.reset();
        let deadline = Instant::now() + self.wait;
        // What each seed said on the last pass, and whether it answered
        // at all: the cluster's state, for the error when no leader takes
        // the database within the wait.
        let mut states = vec![(String::new(), false); self.cluster.seeds.len()];
        loop {
            for (seed, (state, answered)) in self.cluster.seeds.iter().zip(&mut states) {
                let asked = ask_leader(seed);
                *answered = asked.is_ok();
                let leader = match asked {
                    Ok(Some(leader)) => leader,
                    Ok(None) => {
                        *state = format!("{seed} knows no leader");
                        continue;
                    }
                    Err(e) => {
                        *state = e.to_string();
                        continue;
                    }
                };
                match self.open_on(&leader) {
                    Ok(session) => {
                        *self.session.borrow_mut() = Some(session);
                        return Ok(());
                    }
                    Err(e) => *state = format!("{seed} names {leader} as leader, which failed: {e}"),
                }
            }
            if Instant::now() >= deadline {
                let up = states.iter().filter(|(_, answered)| *answered).count();
                let said: Vec<&str> = states.iter().map(|(s, _)| s.as_str()).collect();
                return Err(EngineError::Unavailable(format!(
                    "no leader of {} took the database within {}s: {up} of {} node(s) answered, none leads ({})",
                    self.cluster,
                    self.wait.as_secs(),
                    states.len(),
                    said.join("; "),
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn open_on(&self, leader: &str) -> Result<Session, EngineError> {
        let stream = connect(leader)?;
        // A live leader answers the open and the probe at once; one that
        // hangs is passed over after a short wait, then the long one
        // (a COMMIT may need it) applies to the session.
        let answer_within = |stream: &TcpStream, wait| {
            stream
                .set_read_timeout(Some(wait))
                .map_err(|e| lost(&format!("connecting to {leader}"), e))
        };
        answer_within(&stream, CONNECT_TIMEOUT)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(|e| lost("connecting", e))?);
        let mut writer = BufWriter::new(stream);
        let body = Body::default().text(&self.cluster.database).u64(0).text("");
        let mut answer = call(&mut reader, &mut writer, request::OPEN, body)?;
        if answer.kind != response::DB {
            return Err(lost("opening the database", "unexpected answer"));
        }
        let db = answer.u32().map_err(|e| lost("opening the database", e))?;
        let mut session = Session {
            reader,
            writer,
            db: u64::from(db),
            leader: leader.to_string(),
        };
        // The leader it named may already have stepped down: a query
        // proves it leads.
        let probe = Body::default()
            .u64(session.db)
            .text("SELECT 1")
            .params(&[])
            .map_err(|e| lost("probing", e))?;
        let mut answer = call(&mut session.reader, &mut session.writer, request::QUERY_SQL, probe)?;
        while !answer.rows(&mut Vec::new()).map_err(|e| lost("probing", e))? {
            answer = receive(&mut session.reader).map_err(|e| lost("probing", e))?;
        }
        answer_within(session.reader.get_ref(), ANSWER_TIMEOUT)?;
        Ok(session)
    }

    fn with_session<T>(
        &self,
        work: impl FnOnce(&mut Session) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let mut guard = self.session.borrow_mut();
        let Some(session) = guard.as_mut() else {
            return Err(EngineError::Lost("not connected".into()));
        };
        let outcome = work(session);
        if matches!(outcome, Err(EngineError::Lost(_))) {
            // The session is unusable: its transaction is gone, and a late
            // answer would be read as the next request's.
            *guard = None;
            self.transaction.reset();
        }
        outcome
    }

    fn exec_once(&self, sql: &str, params: &[Value]) -> Result<(), EngineError> {
        self.with_session(|s| {
            let body = statement(s.db, sql, params)?;
            match call(&mut s.reader, &mut s.writer, request::EXEC_SQL, body) {
                Ok(_) => Ok(()),
                Err(EngineError::Remote { code, .. }) if code == SQLITE_ROW => Ok(()),
                Err(e) => Err(e),
            }
        })?;
        self.transaction.after(sql);
        Ok(())
    }

    /// Another writer's transaction holds the leader's lock: wait for it,
    /// as SQLite's busy timeout would, up to the client's wait.
    fn exec_waiting(&self, sql: &str, params: &[Value]) -> Result<(), EngineError> {
        let deadline = Instant::now() + self.wait;
        let mut pause = Duration::from_millis(2);
        loop {
            match self.exec_once(sql, params) {
                Err(e) if e.is_busy() && Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// A consistent copy of the database as the leader holds it: the
    /// database file and its write-ahead log, written into `dir`; returns
    /// the database file's path.
    pub fn dump_to(&self, dir: &Path) -> Result<PathBuf, EngineError> {
        let files = self.with_session(|s| {
            let body = Body::default().text(&self.cluster.database);
            let mut answer = call(&mut s.reader, &mut s.writer, request::DUMP, body)?;
            if answer.kind != response::FILES {
                return Err(lost("dumping", "unexpected answer"));
            }
            answer.files().map_err(|e| lost("dumping", e))
        })?;
        let main = dir.join("snapshot.db");
        let mut wrote_main = false;
        for (name, content) in files {
            let path = if name.ends_with("-wal") {
                dir.join("snapshot.db-wal")
            } else {
                wrote_main = true;
                main.clone()
            };
            std::fs::write(&path, content).map_err(|e| EngineError::Remote {
                code: 1,
                message: format!("writing {}: {e}", path.display()),
            })?;
        }
        if !wrote_main {
            std::fs::write(&main, []).map_err(|e| EngineError::Remote {
                code: 1,
                message: format!("writing {}: {e}", main.display()),
            })?;
        }
        Ok(main)
    }

    /// The nodes of the cluster: (id, address).
    pub fn nodes(&self) -> Result<Vec<(u64, String)>, EngineError> {
        self.with_session(|s| {
            let mut answer = call(&mut s.reader, &mut s.writer, request::CLUSTER, Body::default().u64(0))?;
            if answer.kind != response::SERVERS {
                return Err(lost("listing nodes", "unexpected answer"));
            }
            let bad = |e| lost("listing nodes", e);
            let count = answer.u64().map_err(bad)?;
            let mut nodes = Vec::new();
            for _ in 0..count {
                let id = answer.u64().map_err(bad)?;
                let address = answer.text().map_err(bad)?;
                nodes.push((id, address));
            }
            Ok(nodes)
        })
    }
}

impl Engine for Client {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<(), EngineError> {
        self.exec_waiting(sql, params)
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, EngineError> {
        self.with_session(|s| {
            let body = statement(s.db, sql, params)?;
            let mut answer = call(&mut s.reader, &mut s.writer, request::QUERY_SQL, body)?;
            let mut rows = Vec::new();
            loop {
                if answer.kind != response::ROWS {
                    return Err(lost("reading rows", "unexpected answer"));
                }
                if answer.rows(&mut rows).map_err(|e| lost("reading rows", e))? {
                    return Ok(rows);
                }
                answer = receive(&mut s.reader).map_err(|e| lost("reading rows", e))?;
                if answer.kind == response::FAILURE {
                    let (code, message) = answer.failure().map_err(|e| lost("reading rows", e))?;
                    return Err(EngineError::Remote { code, message });
                }
            }
        })
    }

    fn execute_batch(&self, sql: &str) -> Result<(), EngineError> {
        // One request runs them all; a failure part-way leaves the earlier
        // ones run, as SQLite's own exec does.
        self.exec_waiting(sql, &[])
    }

    fn in_transaction(&self) -> bool {
        self.transaction.open()
    }

    fn reconnect(&self) -> Result<bool, EngineError> {
        self.open_session().map(|()| true)
    }

    fn endpoint(&self) -> Option<String> {
        self.leader()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls() {
        let c = Cluster::parse("dqlite://127.0.0.1:9001,127.0.0.1:9002/app").unwrap();
        assert_eq!(c.seeds, ["127.0.0.1:9001", "127.0.0.1:9002"]);
        assert_eq!(c.database, "app");
        assert_eq!(c.url(), "dqlite://127.0.0.1:9001,127.0.0.1:9002/app");
        assert_eq!(
            Cluster::parse("dqlite://db1:9001/app?x=1").unwrap().database,
            "app"
        );
        for (bad, says) in [
            ("dqlite://127.0.0.1:9001", "names no database"),
            ("dqlite:///app", "names no node"),
            ("dqlite://127.0.0.1/app", "not HOST:PORT"),
            ("dqlite://h:1/a/b", "one plain name"),
            ("dqlite://h:99999/a", "not HOST:PORT"),
        ] {
            let err = Cluster::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
