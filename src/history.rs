//! strata's bookkeeping inside the database:
//!
//! - `strata_history`: one row per applied revision, removed when it is
//!   reverted;
//! - `strata_log`: an append-only audit of every upgrade, downgrade and stamp;
//! - `strata_meta`: the bookkeeping format's version, so a later strata can
//!   upgrade these tables when it meets an older database.
//!
//! They are created on the first write, inside that write's transaction.
//! Every statement is rendered as SQL text, so `--sql` output and a real run
//! execute exactly the same bookkeeping.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::db::quote_literal;
use crate::engine::Engine;
use crate::{Error, Result};

/// The bookkeeping format this strata writes. Version 2 lets `strata_log`
/// record a `rehash` (accepting an edited applied revision).
pub const BOOKKEEPING_VERSION: i64 = 2;

/// `strata_log`'s definition; `{name}` is its table name.
fn log_table(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (\n    id             INTEGER PRIMARY KEY,\n    at             TEXT NOT NULL,\n    revision       TEXT NOT NULL,\n    direction      TEXT NOT NULL CHECK (direction IN ('upgrade', 'downgrade', 'stamp', 'rehash')),\n    duration_ms    INTEGER NOT NULL,\n    strata_version TEXT NOT NULL\n);\n"
    )
}

/// Takes version-1 bookkeeping to version 2: `strata_log` rebuilt with the
/// wider CHECK, every row kept (sqlite.org/lang_altertable.html#otheralter).
fn upgrade_from_v1_sql() -> String {
    format!(
        "{}INSERT INTO strata_log_v2 (id, at, revision, direction, duration_ms, strata_version)\n    SELECT id, at, revision, direction, duration_ms, strata_version FROM strata_log;\n\
         DROP TABLE strata_log;\nALTER TABLE strata_log_v2 RENAME TO strata_log;\n\
         UPDATE strata_meta SET value = '2' WHERE key = 'bookkeeping_version';\n",
        log_table("strata_log_v2")
    )
}

/// The DDL that creates the bookkeeping tables if they are missing.
pub fn ddl() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS strata_meta (\n    key   TEXT PRIMARY KEY,\n    value TEXT NOT NULL\n);\n\
         INSERT OR IGNORE INTO strata_meta (key, value) VALUES ('bookkeeping_version', '{BOOKKEEPING_VERSION}');\n\
         CREATE TABLE IF NOT EXISTS strata_history (\n    revision    TEXT PRIMARY KEY,\n    parents     TEXT NOT NULL,\n    message     TEXT NOT NULL,\n    up_sha256   TEXT NOT NULL,\n    down_sha256 TEXT NOT NULL,\n    applied_at  TEXT NOT NULL,\n    duration_ms INTEGER NOT NULL\n);\n\
         {}",
        log_table("strata_log")
    )
}

/// The SQL expression for "now" in RFC 3339 UTC, used by `--sql` output.
pub const NOW_SQL: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

/// A row of `strata_history`.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub revision: String,
    pub parents: Vec<String>,
    pub message: String,
    pub up_sha256: String,
    pub down_sha256: String,
    pub applied_at: String,
    pub duration_ms: i64,
}

/// What a revision's bookkeeping rows record.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub revision: &'a str,
    pub parents: &'a [String],
    pub message: &'a str,
    pub up_sha256: &'a str,
    pub down_sha256: &'a str,
}

/// Time and duration, either known (a real run) or left to SQLite (`--sql`).
#[derive(Debug, Clone, Copy)]
pub struct When<'a> {
    /// RFC 3339 UTC; `None` renders SQLite's own clock.
    pub at: Option<&'a str>,
    pub duration_ms: i64,
}

fn at_sql(when: When<'_>) -> String {
    when.at.map_or_else(|| NOW_SQL.to_string(), quote_literal)
}

fn log_sql(revision: &str, direction: &str, when: When<'_>) -> String {
    format!(
        "INSERT INTO strata_log (at, revision, direction, duration_ms, strata_version) VALUES ({}, {}, '{direction}', {}, {});\n",
        at_sql(when),
        quote_literal(revision),
        when.duration_ms,
        quote_literal(crate::VERSION)
    )
}

/// Records an applied revision.
pub fn upgrade_sql(entry: &Entry<'_>, when: When<'_>) -> String {
    format!(
        "INSERT INTO strata_history (revision, parents, message, up_sha256, down_sha256, applied_at, duration_ms) VALUES ({}, {}, {}, {}, {}, {}, {});\n{}",
        quote_literal(entry.revision),
        quote_literal(&entry.parents.join(",")),
        quote_literal(entry.message),
        quote_literal(entry.up_sha256),
        quote_literal(entry.down_sha256),
        at_sql(when),
        when.duration_ms,
        log_sql(entry.revision, "upgrade", when)
    )
}

/// Records an applied revision at time `at`: [`upgrade_sql`]'s rows,
/// with every value bound by strata (a local connection parses the
/// statements once per connection, so a run of a thousand revisions parses
/// them once, not a thousand times).
pub fn record_upgrade(conn: &dyn Engine, entry: &Entry<'_>, at: &str, duration_ms: i64) -> Result<()> {
    let context = || Error::engine(format!("recording revision {}", entry.revision));
    conn.execute(
        "INSERT INTO strata_history (revision, parents, message, up_sha256, down_sha256, applied_at, duration_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            entry.revision.into(),
            entry.parents.join(",").into(),
            entry.message.into(),
            entry.up_sha256.into(),
            entry.down_sha256.into(),
            at.into(),
            duration_ms.into(),
        ],
    )
    .map_err(context())?;
    conn.execute(
        "INSERT INTO strata_log (at, revision, direction, duration_ms, strata_version) \
         VALUES (?1, ?2, 'upgrade', ?3, ?4)",
        &[at.into(), entry.revision.into(), duration_ms.into(), crate::VERSION.into()],
    )
    .map_err(context())?;
    Ok(())
}

/// Records a reverted revision, and for a squash the revisions it covers
/// (a database that upgraded through them holds their rows instead).
pub fn downgrade_sql(revision: &str, covers: &[String], when: When<'_>) -> String {
    let mut sql = format!(
        "DELETE FROM strata_history WHERE revision = {};\n",
        quote_literal(revision)
    );
    for covered in covers {
        sql.push_str(&format!(
            "DELETE FROM strata_history WHERE revision = {};\n",
            quote_literal(covered)
        ));
    }
    sql.push_str(&log_sql(revision, "downgrade", when));
    sql
}

/// Moves the applied set to `keep` without running scripts: rows of
/// revisions that stay are left as they are (their applied_at and
/// checksums), `remove` are deleted, `add` inserted, and the stamp logged.
pub fn stamp_sql(remove: &[&str], add: &[Entry<'_>], target: &str, when: When<'_>) -> String {
    let mut sql = String::new();
    for revision in remove {
        sql.push_str(&format!(
            "DELETE FROM strata_history WHERE revision = {};\n",
            quote_literal(revision)
        ));
    }
    for entry in add {
        sql.push_str(&format!(
            "INSERT INTO strata_history (revision, parents, message, up_sha256, down_sha256, applied_at, duration_ms) VALUES ({}, {}, {}, {}, {}, {}, 0);\n",
            quote_literal(entry.revision),
            quote_literal(&entry.parents.join(",")),
            quote_literal(entry.message),
            quote_literal(entry.up_sha256),
            quote_literal(entry.down_sha256),
            at_sql(when),
        ));
    }
    sql.push_str(&log_sql(target, "stamp", when));
    sql
}

/// Records `entry`'s current checksums for an applied revision whose files
/// were edited on purpose, and logs it as a `rehash`.
pub fn rehash_sql(entry: &Entry<'_>, when: When<'_>) -> String {
    format!(
        "UPDATE strata_history SET up_sha256 = {}, down_sha256 = {} WHERE revision = {};\n{}",
        quote_literal(entry.up_sha256),
        quote_literal(entry.down_sha256),
        quote_literal(entry.revision),
        log_sql(entry.revision, "rehash", when)
    )
}

/// Which of strata's bookkeeping tables exist, and the version
/// `strata_meta` records: read in one request, two when `strata_meta`
/// exists (a cluster pays a round trip for each, once per transaction).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bookkeeping {
    pub history: bool,
    pub meta: bool,
    pub log: bool,
    pub version: Option<i64>,
}

impl Bookkeeping {
    /// Every table there, at this strata's version: nothing to create.
    fn current(&self) -> bool {
        self.history && self.meta && self.log && self.version == Some(BOOKKEEPING_VERSION)
    }

    /// Refuses bookkeeping a newer strata wrote.
    fn check(&self) -> Result<()> {
        match self.version {
            Some(found) if found > BOOKKEEPING_VERSION => {
                Err(crate::error::RunError::NewerBookkeeping {
                    found,
                    understood: BOOKKEEPING_VERSION,
                }
                .into())
            }
            _ => Ok(()),
        }
    }
}

/// Reads [`Bookkeeping`].
pub fn bookkeeping(conn: &dyn Engine) -> Result<Bookkeeping> {
    let tables = conn
        .query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name IN ('strata_history', 'strata_meta', 'strata_log')",
            &[],
        )
        .map_err(Error::engine("reading the schema"))?;
    let has = |name: &str| tables.iter().any(|row| row[0].text() == name);
    let mut found = Bookkeeping {
        history: has("strata_history"),
        meta: has("strata_meta"),
        log: has("strata_log"),
        version: None,
    };
    if found.meta {
        let rows = conn
            .query(
                "SELECT value FROM strata_meta WHERE key = 'bookkeeping_version'",
                &[],
            )
            .map_err(Error::engine("reading strata_meta"))?;
        found.version = rows
            .first()
            .and_then(|row| row.first())
            .and_then(|v| v.text().parse().ok());
    }
    Ok(found)
}

/// The bookkeeping version recorded in the database, if any.
pub fn version(conn: &dyn Engine) -> Result<Option<i64>> {
    Ok(bookkeeping(conn)?.version)
}

/// Creates or upgrades the bookkeeping tables. Call inside the write
/// transaction, so they appear only together with a change.
pub fn ensure(conn: &dyn Engine) -> Result<()> {
    ensure_from(conn, &bookkeeping(conn)?)
}

/// [`ensure`] with the bookkeeping already read in this transaction.
pub fn ensure_from(conn: &dyn Engine, found: &Bookkeeping) -> Result<()> {
    found.check()?;
    if found.current() {
        return Ok(());
    }
    conn.execute_batch(&ddl())
        .map_err(Error::engine("creating strata's bookkeeping tables"))?;
    if found.version == Some(1) {
        conn.execute_batch(&upgrade_from_v1_sql())
            .map_err(Error::engine("upgrading strata's bookkeeping tables"))?;
    }
    Ok(())
}

/// Every applied revision, or none when the bookkeeping does not exist yet.
pub fn read_applied(conn: &dyn Engine) -> Result<Vec<Applied>> {
    read(conn).map(|(rows, _)| rows)
}

/// [`read_applied`], with the [`Bookkeeping`] it read on the way, for a
/// transaction that may go on to [`ensure_from`].
pub fn read(conn: &dyn Engine) -> Result<(Vec<Applied>, Bookkeeping)> {
    let found = bookkeeping(conn)?;
    if !found.history {
        return Ok((Vec::new(), found));
    }
    found.check()?;
    let rows = conn
        .query(
            "SELECT revision, parents, message, up_sha256, down_sha256, applied_at, duration_ms \
             FROM strata_history ORDER BY applied_at, revision",
            &[],
        )
        .map_err(Error::engine("reading strata_history"))?;
    let rows = rows
        .iter()
        .map(|r| Applied {
            revision: r[0].text(),
            parents: r[1]
                .text()
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            message: r[2].text(),
            up_sha256: r[3].text(),
            down_sha256: r[4].text(),
            applied_at: r[5].text(),
            duration_ms: r[6].int(),
        })
        .collect();
    Ok((rows, found))
}

/// The set of applied revision ids.
pub fn applied_ids(rows: &[Applied]) -> BTreeSet<String> {
    rows.iter().map(|a| a.revision.clone()).collect()
}

/// A row of `strata_log`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub at: String,
    pub revision: String,
    pub direction: String,
    pub duration_ms: i64,
    pub strata_version: String,
}

/// The audit log, oldest first.
pub fn read_log(conn: &dyn Engine) -> Result<Vec<LogEntry>> {
    if !bookkeeping(conn)?.log {
        return Ok(Vec::new());
    }
    let rows = conn
        .query(
            "SELECT at, revision, direction, duration_ms, strata_version FROM strata_log ORDER BY id",
            &[],
        )
        .map_err(Error::engine("reading strata_log"))?;
    Ok(rows
        .iter()
        .map(|r| LogEntry {
            at: r[0].text(),
            revision: r[1].text(),
            direction: r[2].text(),
            duration_ms: r[3].int(),
            strata_version: r[4].text(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn bookkeeping_round_trip() {
        let conn = Connection::open_in_memory().unwrap();
        assert!(read_applied(&conn).unwrap().is_empty());
        ensure(&conn).unwrap();
        ensure(&conn).unwrap();
        assert_eq!(version(&conn).unwrap(), Some(BOOKKEEPING_VERSION));
        let parents = vec!["a".to_string()];
        let entry = Entry {
            revision: "b",
            parents: &parents,
            message: "it's here",
            up_sha256: "u",
            down_sha256: "d",
        };
        conn.execute_batch(&upgrade_sql(
            &entry,
            When {
                at: None,
                duration_ms: 3,
            },
        ))
        .unwrap();
        let rows = read_applied(&conn).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].message, "it's here");
        assert_eq!(rows[0].parents, parents);
        assert!(rows[0].applied_at.ends_with('Z'));
        conn.execute_batch(&downgrade_sql(
            "b",
            &[],
            When {
                at: Some("2026-11-26T00:00:00Z"),
                duration_ms: 1,
            },
        ))
        .unwrap();
        assert!(read_applied(&conn).unwrap().is_empty());
        let log = read_log(&conn).unwrap();
        assert_eq!(
            log.iter().map(|l| l.direction.as_str()).collect::<Vec<_>>(),
            ["upgrade", "downgrade"]
        );
    }

    #[test]
    fn newer_bookkeeping_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        ensure(&conn).unwrap();
        conn.execute(
            "UPDATE strata_meta SET value = '99' WHERE key = 'bookkeeping_version'",
            [],
        )
        .unwrap();
        let err = read_applied(&conn).unwrap_err().to_string();
        assert!(err.contains("newer strata"), "{err}");
    }

    #[test]
    fn ensure_creates_only_what_is_missing_and_upgrades_version_1() {
        let conn = Connection::open_in_memory().unwrap();
        let (rows, found) = read(&conn).unwrap();
        assert!(rows.is_empty());
        assert_eq!(found, Bookkeeping::default());
        ensure_from(&conn, &found).unwrap();
        let found = bookkeeping(&conn).unwrap();
        assert!(found.current(), "{found:?}");
        // A table lost by hand is not current: ensure puts it back.
        conn.execute_batch("DROP TABLE strata_log").unwrap();
        let found = bookkeeping(&conn).unwrap();
        assert!(!found.current() && found.history && !found.log);
        ensure_from(&conn, &found).unwrap();
        assert!(bookkeeping(&conn).unwrap().current());
        // Version 1: strata_log with the narrower CHECK, its rows kept.
        conn.execute_batch(
            "DROP TABLE strata_log;\n\
             CREATE TABLE strata_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, revision TEXT NOT NULL, \
             direction TEXT NOT NULL CHECK (direction IN ('upgrade', 'downgrade')), duration_ms INTEGER NOT NULL, \
             strata_version TEXT NOT NULL);\n\
             INSERT INTO strata_log (at, revision, direction, duration_ms, strata_version) VALUES ('t', 'a', 'upgrade', 1, '0.0.1');\n\
             UPDATE strata_meta SET value = '1' WHERE key = 'bookkeeping_version';",
        )
        .unwrap();
        let (_, found) = read(&conn).unwrap();
        assert_eq!(found.version, Some(1));
        ensure_from(&conn, &found).unwrap();
        assert_eq!(version(&conn).unwrap(), Some(BOOKKEEPING_VERSION));
        conn.execute_batch(&stamp_sql(
            &[],
            &[],
            "a",
            When {
                at: None,
                duration_ms: 0,
            },
        ))
        .unwrap();
        let log = read_log(&conn).unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0].revision, "a");
        assert_eq!(log[1].direction, "stamp");
    }
}
