//! Upgrading a database from inside the application, on the application's
//! own connection, with the same bookkeeping and checks as `strata upgrade`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::RunError;
use crate::graph::{Direction, Target};
use crate::history::{self, Applied};
use crate::runner::{self, Options};
use crate::script::Migrations;
use crate::{Embedded, Error, Result};

pub use crate::runner::Step;

/// Applies and reverts a set of revisions on a [`rusqlite::Connection`].
///
/// ```
/// # fn main() -> strata::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("1_users.up.sql"),
/// #     "-- strata:revision 1\n-- strata:parent base\n-- strata:message users\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n").unwrap();
/// # std::fs::write(dir.path().join("1_users.down.sql"), "-- strata:revision 1\nDROP TABLE users;\n").unwrap();
/// # let migrations_dir = dir.path();
/// use std::time::Duration;
///
/// let conn = rusqlite::Connection::open_in_memory().unwrap();
/// // In an application: strata::Migrator::new(&MIGRATIONS), with
/// // `static MIGRATIONS: strata::Embedded = strata::embed!("migrations");`
/// let migrator = strata::Migrator::from_dir(migrations_dir)?
///     .lock_timeout(Duration::from_secs(30));
/// let report = migrator.upgrade(&conn)?;
/// assert_eq!(report.steps.len(), 1);
/// assert!(migrator.status(&conn)?.is_current());
/// migrator.ensure_current(&conn)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Migrations,
    lock_timeout: Duration,
    backup: bool,
    allow_newer_database: bool,
}

/// What an upgrade or downgrade did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Which way the run went.
    pub direction: Direction,
    /// Each revision applied or reverted, in order, with its duration.
    pub steps: Vec<Step>,
    /// The copy made before the first step, when [`Migrator::backup`] is on
    /// and something ran.
    pub backup: Option<PathBuf>,
    /// The database's revisions afterwards; empty means base.
    pub current: Vec<String>,
}

/// Where a database stands against the migrations: [`Migrator::status`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// The database's current revisions; empty means base.
    pub current: Vec<String>,
    /// Revisions still to apply to reach the head, in the order they would run.
    pub pending: Vec<String>,
    /// Applied revisions these migrations do not define (a newer build ran).
    pub unknown: Vec<String>,
    /// Applied revisions whose scripts changed since they were applied.
    pub edited: Vec<String>,
    /// Every known revision, parents first.
    pub revisions: Vec<RevisionStatus>,
}

/// One revision in a [`Status`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RevisionStatus {
    /// The revision's id.
    pub revision: String,
    /// Its `-- strata:message`.
    pub message: String,
    /// `applied`, `pending` or `edited`.
    pub state: &'static str,
    /// When it was applied (UTC, as `strata_history` records it).
    pub applied_at: Option<String>,
}

impl Status {
    /// Whether the database is at the head, with nothing unknown or edited.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty() && self.edited.is_empty()
    }
}

impl Migrator {
    /// A migrator for revisions compiled in with [`embed!`](crate::embed!).
    pub fn new(embedded: &Embedded) -> Result<Migrator> {
        Ok(Self::of(Migrations::from_texts(
            embedded.dir(),
            embedded.files(),
        )?))
    }

    /// A migrator for the revision files in a directory, read now.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrator> {
        let dir = dir.as_ref();
        Ok(Self::of(Migrations::load(
            dir,
            &crate::db::display_path(dir),
        )?))
    }

    /// Holds every script in memory from now on (a fleet applies them to
    /// many databases; each file is read once).
    pub fn preload(mut self) -> Result<Migrator> {
        self.migrations.preload()?;
        Ok(self)
    }

    fn of(migrations: Migrations) -> Migrator {
        Migrator {
            migrations,
            lock_timeout: Duration::from_secs(60),
            backup: false,
            allow_newer_database: false,
        }
    }

    /// How long to wait for another connection's write lock (default 60 s).
    /// Two processes starting at once: the second waits, then finds the
    /// first one's revisions applied and applies each one exactly once.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Copy the database beside itself (`<name>.<time>.bak`, SQLite's online
    /// backup) before the first revision runs — only when one will.
    pub fn backup(mut self, on: bool) -> Self {
        self.backup = on;
        self
    }

    /// Accept a database that has revisions applied that this build does not
    /// know (a newer build migrated it), as long as every revision this build
    /// does know is applied: an old instance during a rolling deploy. Off by
    /// default: [`ErrorKind::NewerDatabase`](crate::ErrorKind::NewerDatabase).
    pub fn allow_newer_database(mut self, on: bool) -> Self {
        self.allow_newer_database = on;
        self
    }

    pub(crate) fn allows_newer(&self) -> bool {
        self.allow_newer_database
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// The head revisions, the ids a fully upgraded database is at.
    pub fn heads(&self) -> Vec<&str> {
        self.migrations.graph.heads()
    }

    /// Upgrades to the head.
    pub fn upgrade(&self, conn: &Connection) -> Result<Report> {
        self.upgrade_to(conn, "head")
    }

    /// Upgrades to `target`, in the CLI's grammar: `head`, a revision id or
    /// unique prefix, `+N`.
    pub fn upgrade_to(&self, conn: &Connection, target: &str) -> Result<Report> {
        self.run(conn, Direction::Upgrade, target)
    }

    /// Downgrades to `target`: a revision id or prefix, `-N`, or `base`.
    pub fn downgrade(&self, conn: &Connection, target: &str) -> Result<Report> {
        self.run(conn, Direction::Downgrade, target)
    }

    /// Where the database stands. Reads only: creates no table and takes no
    /// write lock.
    pub fn status(&self, conn: &Connection) -> Result<Status> {
        let rows = history::read_applied(conn)?;
        self.status_of(&rows)
    }

    /// `Ok` when the database is at the head and nothing applied is unknown
    /// (unless allowed) or edited; else the error saying which, for an
    /// application that will not serve an old schema.
    pub fn ensure_current(&self, conn: &Connection) -> Result<()> {
        let rows = history::read_applied(conn)?;
        let status = self.status_of(&rows)?;
        let view = self.migrations.view(&rows)?;
        refuse(
            &view,
            self.allow_newer_database,
            &status,
            &view.normalize(rows),
        )?;
        if !status.pending.is_empty() {
            return Err(RunError::NotCurrent {
                pending: status.pending,
            }
            .into());
        }
        Ok(())
    }

    /// Where a database with these history rows stands.
    pub(crate) fn status_of(&self, rows: &[Applied]) -> Result<Status> {
        let view = self.migrations.view(rows)?;
        Ok(status_in(&view, &view.normalize(rows.to_vec())))
    }

    fn run(&self, conn: &Connection, direction: Direction, target: &str) -> Result<Report> {
        let target: Target = target.parse()?;
        // The whole run waits up to the migrator's lock timeout, the first
        // read included: another process may be committing right then.
        with_connection_settings(conn, self.lock_timeout, || {
            self.run_waiting(conn, direction, &target)
        })
    }

    fn run_waiting(
        &self,
        conn: &Connection,
        direction: Direction,
        target: &Target,
    ) -> Result<Report> {
        let raw = history::read_applied(conn)?;
        let view = self.migrations.view(&raw)?;
        let rows = view.normalize(raw);
        let graph = &view.graph;
        let status = status_in(&view, &rows);
        refuse(&view, self.allow_newer_database, &status, &rows)?;
        let known: BTreeSet<String> = history::applied_ids(&rows)
            .into_iter()
            .filter(|id| graph.contains(id))
            .collect();
        let goal = match direction {
            Direction::Upgrade => graph.upgrade_goal(target, &known)?,
            Direction::Downgrade => graph.downgrade_goal(target, &known)?,
        };
        if graph.path(&goal, &known).is_empty() {
            return Ok(Report {
                direction,
                steps: Vec::new(),
                backup: None,
                current: status.current,
            });
        }
        if !status.unknown.is_empty() {
            // Allowed only while there is nothing to do: running revisions
            // beside ones this build cannot see could undo a newer build's work.
            return Err(RunError::UnknownApplied {
                revisions: status.unknown,
            }
            .into());
        }
        // A database with nothing in it has nothing to lose.
        let backup = if self.backup && !is_empty(conn)? {
            Some(backup_of(conn)?)
        } else {
            None
        };
        let options = Options {
            lock_timeout: self.lock_timeout,
            ..Options::default()
        };
        let ran = runner::run(conn, &view, &goal, &options, &mut |_| {})?;
        let rows = history::read_applied(conn)?;
        let view = self.migrations.view(&rows)?;
        let after = history::applied_ids(&view.normalize(rows));
        Ok(Report {
            direction,
            steps: ran.steps,
            backup,
            current: view
                .graph
                .current(&after)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
    }
}

/// The typed refusals shared by every entry point: a newer database,
/// an edited revision.
fn refuse(
    migrations: &Migrations,
    allow_newer_database: bool,
    status: &Status,
    rows: &[Applied],
) -> Result<()> {
    if !status.unknown.is_empty() && !allow_newer_database {
        return Err(RunError::UnknownApplied {
            revisions: status.unknown.clone(),
        }
        .into());
    }
    if !status.edited.is_empty() {
        let known: Vec<Applied> = rows
            .iter()
            .filter(|r| migrations.get(&r.revision).is_some())
            .cloned()
            .collect();
        runner::verify_checksums(migrations, &known)?;
    }
    Ok(())
}

/// Where a database stands in `migrations` (the view its rows need), given
/// its normalized history rows.
fn status_in(migrations: &Migrations, rows: &[Applied]) -> Status {
    let graph = &migrations.graph;
    let applied = history::applied_ids(rows);
    let known: BTreeSet<String> = applied
        .iter()
        .filter(|id| graph.contains(id))
        .cloned()
        .collect();
    let unknown = applied
        .iter()
        .filter(|id| !graph.contains(id))
        .cloned()
        .collect();
    let mut edited = Vec::new();
    let mut revisions = Vec::new();
    for rev in migrations.in_order() {
        let row = rows.iter().find(|r| r.revision == rev.id);
        let state = match row {
            None => "pending",
            Some(r) if r.up_sha256 != rev.up.sha256 || r.down_sha256 != rev.down.sha256 => {
                edited.push(rev.id.clone());
                "edited"
            }
            Some(_) => "applied",
        };
        revisions.push(RevisionStatus {
            revision: rev.id.clone(),
            message: rev.message.clone(),
            state,
            applied_at: row.map(|r| r.applied_at.clone()),
        });
    }
    let pending = graph
        .upgrade_goal(&Target::Head, &known)
        .map(|goal| {
            graph
                .path(&goal, &known)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_else(|_| {
            // Several heads: everything not applied, parents first.
            graph
                .topological()
                .filter(|id| !known.contains(*id))
                .map(str::to_string)
                .collect()
        });
    Status {
        current: graph
            .current(&known)
            .iter()
            .map(|s| s.to_string())
            .collect(),
        pending,
        unknown,
        edited,
        revisions,
    }
}

fn is_empty(conn: &Connection) -> Result<bool> {
    conn.query_row("SELECT count(*) = 0 FROM sqlite_schema", [], |r| r.get(0))
        .map_err(Error::sqlite("reading the schema"))
}

/// The database file behind `conn`, copied beside itself.
fn backup_of(conn: &Connection) -> Result<PathBuf> {
    match conn.path().filter(|p| !p.is_empty()) {
        Some(path) => crate::db::backup(conn, Path::new(path)),
        None => Err(RunError::BackupNeedsFile.into()),
    }
}

/// Runs `f` with the lock timeout strata needs, then gives the application
/// its connection back as it was: busy timeout and foreign-key enforcement
/// (the runner switches enforcement off for table rebuilds).
fn with_connection_settings<T>(
    conn: &Connection,
    lock_timeout: Duration,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let pragma = |name: &str| -> Result<i64> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .map_err(Error::sqlite(format!("reading PRAGMA {name}")))
    };
    let busy = pragma("busy_timeout")?;
    let foreign_keys = pragma("foreign_keys")?;
    conn.busy_timeout(lock_timeout)
        .map_err(Error::sqlite("setting the lock timeout"))?;
    let result = f();
    let restore = conn
        .busy_timeout(Duration::from_millis(busy.max(0) as u64))
        .map_err(Error::sqlite("restoring the busy timeout"))
        .and_then(|()| {
            conn.execute_batch(&format!("PRAGMA foreign_keys = {foreign_keys}"))
                .map_err(Error::sqlite("restoring PRAGMA foreign_keys"))
        });
    let value = result?;
    restore?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP1: &str = "-- strata:revision 1\n-- strata:parent base\n-- strata:message users\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n";
    const DOWN1: &str = "-- strata:revision 1\nDROP TABLE users;\n";
    const UP2: &str = "-- strata:revision 2\n-- strata:parent 1\n-- strata:message posts\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users);\n";
    const DOWN2: &str = "-- strata:revision 2\nDROP TABLE posts;\n";

    static ONE: Embedded = Embedded::__new(
        "migrations",
        &[("1_users.up.sql", UP1), ("1_users.down.sql", DOWN1)],
    );
    static TWO: Embedded = Embedded::__new(
        "migrations",
        &[
            ("1_users.up.sql", UP1),
            ("1_users.down.sql", DOWN1),
            ("2_posts.up.sql", UP2),
            ("2_posts.down.sql", DOWN2),
        ],
    );

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn upgrade_downgrade_and_status() {
        let conn = Connection::open_in_memory().unwrap();
        let m = Migrator::new(&TWO).unwrap();
        let before = m.status(&conn).unwrap();
        assert_eq!(before.pending, ["1", "2"]);
        assert!(
            tables(&conn).is_empty(),
            "status created {:?}",
            tables(&conn)
        );
        let report = m.upgrade(&conn).unwrap();
        let ran: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ran, ["1", "2"]);
        assert_eq!(report.current, ["2"]);
        assert!(m.status(&conn).unwrap().is_current());
        // Again: nothing to do.
        assert!(m.upgrade(&conn).unwrap().steps.is_empty());
        let down = m.downgrade(&conn, "-1").unwrap();
        assert_eq!(down.steps.len(), 1);
        assert_eq!(down.current, ["1"]);
        assert!(!tables(&conn).contains(&"posts".to_string()));
        let err = m.ensure_current(&conn).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NotCurrent);
    }

    #[test]
    fn a_newer_database_is_refused_unless_allowed() {
        let conn = Connection::open_in_memory().unwrap();
        Migrator::new(&TWO).unwrap().upgrade(&conn).unwrap();
        let old = Migrator::new(&ONE).unwrap();
        let err = old.upgrade(&conn).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NewerDatabase);
        assert!(err.to_string().contains("(2)"), "{err}");
        assert_eq!(
            old.ensure_current(&conn).unwrap_err().kind(),
            crate::ErrorKind::NewerDatabase
        );
        let tolerant = old.allow_newer_database(true);
        assert!(tolerant.upgrade(&conn).unwrap().steps.is_empty());
        tolerant.ensure_current(&conn).unwrap();
        assert_eq!(tolerant.status(&conn).unwrap().unknown, ["2"]);
    }

    #[test]
    fn an_edited_revision_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        Migrator::new(&ONE).unwrap().upgrade(&conn).unwrap();
        static EDITED: Embedded = Embedded::__new(
            "migrations",
            &[
                ("1_users.up.sql", "-- strata:revision 1\n-- strata:parent base\n-- strata:message users\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT);\n"),
                ("1_users.down.sql", DOWN1),
            ],
        );
        let m = Migrator::new(&EDITED).unwrap();
        assert_eq!(m.status(&conn).unwrap().edited, ["1"]);
        let err = m.upgrade(&conn).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Edited);
        assert!(
            err.to_string().contains("migrations/1_users.up.sql"),
            "{err}"
        );
    }

    #[test]
    fn the_connection_gets_its_settings_back() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        conn.busy_timeout(Duration::from_millis(1234)).unwrap();
        Migrator::new(&TWO).unwrap().upgrade(&conn).unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        let busy: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert_eq!((fk, busy), (1, 1234));
    }

    #[test]
    fn backup_only_when_something_runs_and_only_of_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let conn = Connection::open(tmp.path().join("app.db")).unwrap();
        let one = Migrator::new(&ONE).unwrap().backup(true);
        // A new, empty database has nothing to back up.
        assert!(one.upgrade(&conn).unwrap().backup.is_none());
        let two = Migrator::new(&TWO).unwrap().backup(true);
        let path = two
            .upgrade(&conn)
            .unwrap()
            .backup
            .expect("a backup before revision 2");
        let copy = Connection::open(&path).unwrap();
        assert_eq!(
            tables(&copy),
            ["strata_history", "strata_log", "strata_meta", "users"]
        );
        assert!(
            two.upgrade(&conn).unwrap().backup.is_none(),
            "nothing ran, so no backup"
        );
        let memory = Connection::open_in_memory().unwrap();
        memory.execute_batch("CREATE TABLE t (x)").unwrap();
        assert_eq!(
            two.upgrade(&memory).unwrap_err().kind(),
            crate::ErrorKind::Usage
        );
    }

    #[test]
    fn a_bad_target_is_a_usage_error() {
        let conn = Connection::open_in_memory().unwrap();
        let err = Migrator::new(&TWO)
            .unwrap()
            .upgrade_to(&conn, "nonsense!")
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
    }
}
