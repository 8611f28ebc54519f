//! A project whose database is a dqlite cluster (`dqlite://…`).
//!
//! Writes (upgrade, downgrade, stamp, rehash) go through strata's client to
//! the leader. Every command that only reads the schema reads a snapshot:
//! the leader's dump of the database (one consistent copy, taken in one
//! request), written to a temporary file that is shown to the user under
//! the cluster's URL and removed when the command ends. So `diff`, `check`,
//! `dump`, `migrate`, `lint` and `squash` run their file code unchanged on
//! exactly what the cluster holds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::config::Project;
use crate::dqlite::{Client, Cluster};
use crate::{db, Error, Result};

/// Connects to the cluster's leader, waiting up to `wait` for one.
pub fn connect(cluster: &Cluster, wait: Duration) -> Result<Client> {
    Client::connect(cluster, wait).map_err(Error::engine(format!("connecting to {cluster}")))
}

/// A local copy of a cluster's database, removed when dropped.
pub struct Snapshot {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Takes a consistent copy of the cluster's database into a temporary
/// directory, as one self-contained SQLite file (its log checkpointed
/// in), shown to the user as the cluster's URL.
pub fn snapshot(client: &Client) -> Result<Snapshot> {
    let dir = tempfile::Builder::new()
        .prefix("strata-snapshot-")
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let path = client
        .dump_to(dir.path())
        .map_err(Error::engine(format!("dumping {}", client.cluster())))?;
    settle(&path)?;
    db::label(&path, &client.cluster().url());
    Ok(Snapshot { _dir: dir, path })
}

/// Folds the dump's write-ahead log into the file and leaves it in
/// rollback-journal mode, so read-only opens need no `-shm` beside it.
fn settle(path: &Path) -> Result<()> {
    let conn = Connection::open(path).map_err(Error::sqlite("opening the cluster's snapshot"))?;
    conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(Error::sqlite("reading the cluster's snapshot"))?;
    Ok(())
}

/// The project as the reading commands need it: for a cluster, the same
/// project pointed at a fresh snapshot (kept alive by the returned guard);
/// for a file, the project itself.
pub fn readable(project: &Project) -> Result<(Project, Option<Snapshot>)> {
    let Some(cluster) = &project.cluster else {
        return Ok((project.clone(), None));
    };
    let client = connect(cluster, db::READ_LOCK_TIMEOUT)?;
    let snap = snapshot(&client)?;
    let local = Project {
        database: Some(snap.path.clone()),
        cluster: None,
        ..project.clone()
    };
    Ok((local, Some(snap)))
}

/// `--backup` of a cluster: the leader's dump, as one SQLite file named
/// `<database>.<YYYYMMDDHHMMSS>.bak` in `dir` (the project's directory).
pub fn backup(client: &Client, dir: &Path) -> Result<PathBuf> {
    let snap = snapshot(client)?;
    let conn =
        Connection::open(&snap.path).map_err(Error::sqlite("opening the cluster's snapshot"))?;
    db::backup_as(&conn, &snap.path, dir, &client.cluster().database)
}
