//! Reading another tool's migrations and history, by that tool's rules.
//!
//! Each reader returns the tool's migrations in the order the tool runs
//! them and the versions its history table records as applied, after
//! checking every applied row against its file the way the tool itself
//! would (refinery's checksum through refinery's own code; sqlx's SHA-384 of
//! the raw file). Nothing here writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha384};

use crate::error::CommandError;
use crate::Result;

/// The tools `strata import --from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Refinery,
    Sqlx,
    Goose,
    Dbmate,
    Diesel,
    FlaskMigrate,
}

impl Peer {
    /// Every peer, as `--from` spells them.
    pub const ALL: [Peer; 6] = [
        Peer::Refinery,
        Peer::Sqlx,
        Peer::Goose,
        Peer::Dbmate,
        Peer::Diesel,
        Peer::FlaskMigrate,
    ];

    /// The name `--from` takes.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Refinery => "refinery",
            Peer::Sqlx => "sqlx",
            Peer::Goose => "goose",
            Peer::Dbmate => "dbmate",
            Peer::Diesel => "diesel",
            Peer::FlaskMigrate => "flask-migrate",
        }
    }

    /// The tool's history table.
    pub fn table(self) -> &'static str {
        match self {
            Peer::Refinery => "refinery_schema_history",
            Peer::Sqlx => "_sqlx_migrations",
            Peer::Goose => "goose_db_version",
            Peer::Dbmate => "schema_migrations",
            Peer::Diesel => "__diesel_schema_migrations",
            Peer::FlaskMigrate => "alembic_version",
        }
    }

    /// Where the tool keeps its migrations by its own convention, relative
    /// to the project: the first that exists.
    pub fn default_dirs(self) -> &'static [&'static str] {
        match self {
            Peer::Refinery | Peer::Sqlx | Peer::Diesel => &["migrations"],
            Peer::Goose => &["migrations", "db/migrations", "."],
            Peer::Dbmate => &["db/migrations"],
            Peer::FlaskMigrate => &["migrations/versions"],
        }
    }
}

impl std::str::FromStr for Peer {
    type Err = CommandError;
    fn from_str(text: &str) -> Result<Peer, CommandError> {
        let lower = text.to_ascii_lowercase();
        Peer::ALL
            .into_iter()
            .find(|p| p.name() == lower || (lower == "alembic" && *p == Peer::FlaskMigrate))
            .ok_or_else(|| CommandError::BadFlagValue {
                flag: "--from",
                expected: "refinery, sqlx, goose, dbmate, diesel or flask-migrate",
                given: text.to_string(),
            })
    }
}

/// One of the peer's migrations, as strata will carry it.
#[derive(Debug, Clone)]
pub struct PeerMigration {
    /// The peer's version (its order key), digits.
    pub version: String,
    /// The peer's name or description of it.
    pub name: String,
    /// The file (or folder) it came from, relative to the project.
    pub file: String,
    pub up: String,
    /// The peer's own down script, where it has one.
    pub down: Option<String>,
    pub transactional: bool,
}

/// What a reader found: the migrations in the peer's order, and the
/// versions its history records as applied.
#[derive(Debug, Clone)]
pub struct PeerHistory {
    pub migrations: Vec<PeerMigration>,
    pub applied: BTreeSet<String>,
}

fn sqlite(context: &str) -> impl FnOnce(rusqlite::Error) -> crate::Error + '_ {
    move |source| crate::Error::Sqlite {
        context: context.to_string(),
        source,
    }
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
    .map_err(sqlite("reading the schema"))
}

fn read_text(path: &Path, shown: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(crate::Error::io(path))?;
    String::from_utf8(bytes).map_err(|_| {
        CommandError::SchemaNotUtf8 {
            file: shown.to_string(),
        }
        .into()
    })
}

/// Files directly in `dir`, sorted by name.
fn files_in(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(crate::Error::io(dir))? {
        let entry = entry.map_err(crate::Error::io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

fn leading_digits(name: &str) -> Option<&str> {
    let end = name
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(name.len());
    (end > 0).then(|| &name[..end])
}

/// A version without leading zeros, as the peers store them (`00001` is 1).
fn as_number(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

/// The applied versions recorded in `sql`'s first column, as text.
fn versions(conn: &Connection, sql: &str, table: &str) -> Result<Vec<String>> {
    let context = format!("reading {table}");
    let mut stmt = conn.prepare(sql).map_err(sqlite(&context))?;
    let rows = stmt
        .query_map([], |r| {
            let value: rusqlite::types::Value = r.get(0)?;
            Ok(match value {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
        })
        .map_err(sqlite(&context))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sqlite(&context))
}

fn missing(peer: Peer, version: &str) -> crate::Error {
    CommandError::ImportMissingFile {
        tool: peer.name(),
        version: version.to_string(),
    }
    .into()
}

/// Reads `peer`'s migrations in `dir` and its history in `conn`.
pub fn read(peer: Peer, root: &Path, dir: &Path, conn: &Connection) -> Result<PeerHistory> {
    if !table_exists(conn, peer.table())? {
        return Err(CommandError::ImportNoHistory {
            tool: peer.name(),
            table: peer.table(),
        }
        .into());
    }
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    match peer {
        Peer::Refinery => refinery(dir, conn, &shown),
        Peer::Sqlx => sqlx(dir, conn, &shown),
        Peer::Goose => goose(dir, conn, &shown),
        Peer::Dbmate => dbmate(dir, conn, &shown),
        Peer::Diesel => diesel(dir, conn, &shown),
        Peer::FlaskMigrate => unreachable!("Flask-Migrate is adopted, not converted"),
    }
}

/// refinery: `V{n}__{name}.sql`, found recursively by refinery's own code;
/// each applied row's checksum compared with refinery's.
fn refinery(dir: &Path, conn: &Connection, shown: &dyn Fn(&Path) -> String) -> Result<PeerHistory> {
    let peer = Peer::Refinery;
    let bad = |e: refinery_core::Error| CommandError::ImportPeerRefused {
        tool: peer.name(),
        message: e.to_string(),
    };
    let mut migrations = Vec::new();
    let mut by_version: BTreeMap<String, u64> = BTreeMap::new();
    let paths: Vec<PathBuf> =
        refinery_core::find_migration_files(dir, refinery_core::MigrationType::All)
            .map_err(bad)?
            .collect();
    for path in paths {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.extension().is_some_and(|e| e == "rs") {
            return Err(CommandError::ImportOpaque {
                tool: peer.name(),
                file: shown(&path),
            }
            .into());
        }
        let sql = read_text(&path, &shown(&path))?;
        let m = refinery_core::Migration::unapplied(&stem, &sql).map_err(bad)?;
        // `U…` migrations are unversioned: refinery runs them in no fixed
        // order, which a chain of revisions cannot say.
        if !stem.starts_with('V') {
            return Err(CommandError::ImportOpaque {
                tool: peer.name(),
                file: shown(&path),
            }
            .into());
        }
        let version = m.version().to_string();
        by_version.insert(version.clone(), m.checksum());
        migrations.push(PeerMigration {
            version,
            name: m.name().to_string(),
            file: shown(&path),
            up: sql,
            down: None,
            transactional: true,
        });
    }
    migrations.sort_by_key(|m| m.version.parse::<i64>().unwrap_or(i64::MAX));
    let mut stmt = conn
        .prepare("SELECT version, name, checksum FROM refinery_schema_history ORDER BY version")
        .map_err(sqlite("reading refinery_schema_history"))?;
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect())
        .map_err(sqlite("reading refinery_schema_history"))?;
    let mut applied = BTreeSet::new();
    for (version, name, checksum) in rows {
        let version = version.to_string();
        let Some(found) = by_version.get(&version) else {
            return Err(missing(peer, &version));
        };
        // refinery's own message for this: "applied migration V{v}__{name} is different than filesystem one".
        if checksum != found.to_string() {
            let file = migrations
                .iter()
                .find(|m| m.version == version)
                .map(|m| m.file.clone())
                .unwrap_or_default();
            return Err(CommandError::ImportDivergent {
                tool: peer.name(),
                version: format!("V{version}__{name}"),
                file,
            }
            .into());
        }
        applied.insert(version);
    }
    Ok(PeerHistory {
        migrations,
        applied,
    })
}

/// sqlx: `{version}_{description}.sql`, or `.up.sql` + `.down.sql`; an
/// applied row's checksum is the SHA-384 of the raw up file; `success =
/// false` is a dirty (failed) migration.
fn sqlx(dir: &Path, conn: &Connection, shown: &dyn Fn(&Path) -> String) -> Result<PeerHistory> {
    let peer = Peer::Sqlx;
    let mut ups: BTreeMap<i64, (String, PathBuf)> = BTreeMap::new();
    let mut downs: BTreeMap<i64, PathBuf> = BTreeMap::new();
    for (name, path) in files_in(dir)? {
        let Some(digits) = leading_digits(&name) else {
            continue;
        };
        let Some(rest) = name[digits.len()..].strip_prefix('_') else {
            continue;
        };
        let Ok(version) = digits.parse::<i64>() else {
            continue;
        };
        if rest.ends_with(".down.sql") {
            downs.insert(version, path);
        } else if let Some(desc) = rest
            .strip_suffix(".up.sql")
            .or_else(|| rest.strip_suffix(".sql"))
        {
            ups.insert(version, (desc.replace('_', " "), path));
        }
    }
    let mut checksums = BTreeMap::new();
    let mut migrations = Vec::new();
    for (version, (description, path)) in &ups {
        let bytes = std::fs::read(path).map_err(crate::Error::io(path))?;
        checksums.insert(*version, Sha384::digest(&bytes).to_vec());
        let up = read_text(path, &shown(path))?;
        let down = match downs.get(version) {
            Some(p) => Some(read_text(p, &shown(p))?),
            None => None,
        };
        let transactional = up
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .is_none_or(|l| l.trim() != "-- no-transaction");
        migrations.push(PeerMigration {
            version: version.to_string(),
            name: description.clone(),
            file: shown(path),
            up,
            down,
            transactional,
        });
    }
    let mut stmt = conn
        .prepare(
            "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
        )
        .map_err(sqlite("reading _sqlx_migrations"))?;
    let rows: Vec<(i64, String, bool, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(|rows| rows.collect())
        .map_err(sqlite("reading _sqlx_migrations"))?;
    let mut applied = BTreeSet::new();
    for (version, description, success, checksum) in rows {
        if !success {
            // sqlx: "migration {version} is partially applied; fix and remove row from `_sqlx_migrations` table"
            return Err(CommandError::ImportDirty {
                tool: peer.name(),
                version: version.to_string(),
                table: peer.table(),
            }
            .into());
        }
        let Some(found) = checksums.get(&version) else {
            return Err(missing(peer, &version.to_string()));
        };
        if *found != checksum {
            return Err(CommandError::ImportDivergent {
                tool: peer.name(),
                version: format!("{version} ({description})"),
                file: shown(&ups[&version].1),
            }
            .into());
        }
        applied.insert(version.to_string());
    }
    Ok(PeerHistory {
        migrations,
        applied,
    })
}

/// Splits a one-file migration at its up and down markers: goose's
/// `-- +goose Up` / `-- +goose Down`, dbmate's `-- migrate:up` /
/// `-- migrate:down`. Returns (up, down, transactional).
fn split_sections(
    text: &str,
    up_marker: &str,
    down_marker: &str,
    no_tx: &dyn Fn(&str) -> bool,
) -> Option<(String, String, bool)> {
    let mut up = String::new();
    let mut down = String::new();
    let mut section = None;
    let mut transactional = true;
    let mut saw_up = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if no_tx(trimmed) {
            transactional = false;
        }
        if trimmed.starts_with(up_marker) {
            section = Some(true);
            saw_up = true;
            continue;
        }
        if trimmed.starts_with(down_marker) {
            section = Some(false);
            continue;
        }
        match section {
            Some(true) => {
                up.push_str(line);
                up.push('\n');
            }
            Some(false) => {
                down.push_str(line);
                down.push('\n');
            }
            None => {}
        }
    }
    saw_up.then_some((up, down, transactional))
}

/// goose: one `.sql` file per version; its history is a log, where each
/// version's newest row decides (v3 deletes rows on down; older goose wrote
/// `is_applied = 0`). Version 0 is goose's own seed row.
fn goose(dir: &Path, conn: &Connection, shown: &dyn Fn(&Path) -> String) -> Result<PeerHistory> {
    let peer = Peer::Goose;
    let mut migrations = Vec::new();
    for (name, path) in files_in(dir)? {
        let Some(digits) = leading_digits(&name) else {
            continue;
        };
        if name.ends_with(".go") {
            return Err(CommandError::ImportOpaque {
                tool: peer.name(),
                file: shown(&path),
            }
            .into());
        }
        if !name.ends_with(".sql") {
            continue;
        }
        let text = read_text(&path, &shown(&path))?;
        let Some((up, down, transactional)) =
            split_sections(&text, "-- +goose Up", "-- +goose Down", &|l| {
                l.starts_with("-- +goose NO TRANSACTION")
            })
        else {
            return Err(CommandError::ImportPeerRefused {
                tool: peer.name(),
                message: format!("{}: no `-- +goose Up` annotation", shown(&path)),
            }
            .into());
        };
        let up = strip_goose(&up);
        let down = strip_goose(&down);
        let stem = name.trim_end_matches(".sql");
        let label = stem[digits.len()..]
            .trim_start_matches('_')
            .replace('_', " ");
        migrations.push(PeerMigration {
            version: as_number(digits),
            name: if label.is_empty() {
                stem.to_string()
            } else {
                label
            },
            file: shown(&path),
            up,
            down: Some(down),
            transactional,
        });
    }
    migrations.sort_by_key(|m| m.version.parse::<i64>().unwrap_or(i64::MAX));
    let mut stmt = conn
        .prepare("SELECT version_id, is_applied FROM goose_db_version ORDER BY id")
        .map_err(sqlite("reading goose_db_version"))?;
    let rows: Vec<(i64, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(sqlite("reading goose_db_version"))?;
    let mut state: BTreeMap<i64, bool> = BTreeMap::new();
    for (version, is_applied) in rows {
        state.insert(version, is_applied);
    }
    let mut applied = BTreeSet::new();
    for (version, is_applied) in state {
        if version == 0 || !is_applied {
            continue;
        }
        let version = version.to_string();
        if !migrations.iter().any(|m| m.version == version) {
            return Err(missing(peer, &version));
        }
        applied.insert(version);
    }
    Ok(PeerHistory {
        migrations,
        applied,
    })
}

/// goose's statement markers are comments to SQLite; strata's splitter
/// finds statement ends itself, so they go.
fn strip_goose(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let t = l.trim();
            !(t.starts_with("-- +goose StatementBegin") || t.starts_with("-- +goose StatementEnd"))
        })
        .collect();
    let mut out = kept.join("\n").trim().to_string();
    out.push('\n');
    out
}

/// dbmate: one file per version in db/migrations, `-- migrate:up` /
/// `-- migrate:down`, `transaction:false` on a marker turns the
/// transaction off.
fn dbmate(dir: &Path, conn: &Connection, shown: &dyn Fn(&Path) -> String) -> Result<PeerHistory> {
    let peer = Peer::Dbmate;
    let mut migrations = Vec::new();
    for (name, path) in files_in(dir)? {
        let Some(digits) = leading_digits(&name) else {
            continue;
        };
        if !name.ends_with(".sql") {
            continue;
        }
        let text = read_text(&path, &shown(&path))?;
        let Some((up, down, transactional)) =
            split_sections(&text, "-- migrate:up", "-- migrate:down", &|l| {
                l.starts_with("-- migrate:") && l.contains("transaction:false")
            })
        else {
            return Err(CommandError::ImportPeerRefused {
                tool: peer.name(),
                message: format!("{}: no `-- migrate:up` section", shown(&path)),
            }
            .into());
        };
        let stem = name.trim_end_matches(".sql");
        let label = stem[digits.len()..]
            .trim_start_matches('_')
            .replace('_', " ");
        migrations.push(PeerMigration {
            version: digits.to_string(),
            name: if label.is_empty() {
                stem.to_string()
            } else {
                label
            },
            file: shown(&path),
            up: up.trim().to_string() + "\n",
            down: Some(down.trim().to_string() + "\n"),
            transactional,
        });
    }
    let applied = dbmate_like(
        peer,
        conn,
        "SELECT version FROM schema_migrations",
        &migrations,
    )?;
    Ok(PeerHistory {
        migrations,
        applied,
    })
}

fn dbmate_like(
    peer: Peer,
    conn: &Connection,
    sql: &str,
    migrations: &[PeerMigration],
) -> Result<BTreeSet<String>> {
    let mut applied = BTreeSet::new();
    for version in versions(conn, sql, peer.table())? {
        if !migrations.iter().any(|m| m.version == version) {
            return Err(missing(peer, &version));
        }
        applied.insert(version);
    }
    Ok(applied)
}

/// diesel: one folder per migration, `YYYY-MM-DD-HHMMSS_name/{up,down}.sql`;
/// the version is the folder's prefix without `-`; `metadata.toml` may say
/// `run_in_transaction = false`.
fn diesel(dir: &Path, conn: &Connection, shown: &dyn Fn(&Path) -> String) -> Result<PeerHistory> {
    let peer = Peer::Diesel;
    let mut migrations = Vec::new();
    for (name, path) in files_in(dir)? {
        if !path.is_dir() || name.starts_with('.') {
            continue;
        }
        let Some((prefix, label)) = name.split_once('_') else {
            continue;
        };
        let version: String = prefix.chars().filter(|c| *c != '-').collect();
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let up_path = path.join("up.sql");
        if !up_path.is_file() {
            continue;
        }
        let up = read_text(&up_path, &shown(&up_path))?;
        let down_path = path.join("down.sql");
        let down = if down_path.is_file() {
            Some(read_text(&down_path, &shown(&down_path))?)
        } else {
            None
        };
        let metadata = path.join("metadata.toml");
        let transactional = !(metadata.is_file()
            && read_text(&metadata, &shown(&metadata))?
                .lines()
                .any(|l| l.replace(' ', "") == "run_in_transaction=false"));
        migrations.push(PeerMigration {
            version,
            name: label.replace('_', " "),
            file: shown(&path),
            up,
            down,
            transactional,
        });
    }
    let applied = dbmate_like(
        peer,
        conn,
        "SELECT version FROM __diesel_schema_migrations",
        &migrations,
    )?;
    Ok(PeerHistory {
        migrations,
        applied,
    })
}

/// One Alembic revision file, read without running Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlembicRevision {
    pub revision: String,
    pub parents: Vec<String>,
    pub message: String,
    pub file: String,
}

/// The revision graph of `migrations/versions/*.py`, read statically:
/// `revision = '…'` and `down_revision = None | '…' | ('…', '…')`.
pub fn alembic_revisions(dir: &Path, root: &Path) -> Result<Vec<AlembicRevision>> {
    let mut out = Vec::new();
    for (name, path) in files_in(dir)? {
        if !name.ends_with(".py") {
            continue;
        }
        let shown = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = read_text(&path, &shown)?;
        let value = |key: &str| -> Option<String> {
            text.lines().find_map(|l| {
                let rest = l.strip_prefix(key)?.trim_start();
                let rest = rest.strip_prefix(':').map(|r| {
                    // `revision: str = '…'` (Alembic 1.13's template).
                    r.split_once('=').map_or("", |(_, v)| v)
                });
                let rest = match rest {
                    Some(r) => r,
                    None => l.strip_prefix(key)?.trim_start().strip_prefix('=')?,
                };
                Some(rest.trim().to_string())
            })
        };
        let Some(revision) = value("revision")
            .map(|v| unquote(&v))
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let parents = match value("down_revision") {
            None => Vec::new(),
            Some(v) if v == "None" => Vec::new(),
            Some(v) => v
                .trim_matches(|c| c == '(' || c == ')' || c == '[' || c == ']')
                .split(',')
                .map(unquote)
                .filter(|p| !p.is_empty())
                .collect(),
        };
        let message = text
            .lines()
            .next()
            .map(|l| {
                l.trim()
                    .trim_start_matches("\"\"\"")
                    .trim_end_matches("\"\"\"")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        out.push(AlembicRevision {
            revision,
            parents,
            message,
            file: shown,
        });
    }
    Ok(out)
}

fn unquote(text: &str) -> String {
    text.trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .trim()
        .to_string()
}

/// alembic_version's rows: the current head(s).
pub fn alembic_heads(conn: &Connection) -> Result<Vec<String>> {
    if !table_exists(conn, "alembic_version")? {
        return Err(CommandError::ImportNoHistory {
            tool: Peer::FlaskMigrate.name(),
            table: "alembic_version",
        }
        .into());
    }
    versions(
        conn,
        "SELECT version_num FROM alembic_version ORDER BY version_num",
        "alembic_version",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_at_the_markers() {
        let text = "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (x);\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE a;\n";
        let (up, down, tx) = split_sections(text, "-- +goose Up", "-- +goose Down", &|l| {
            l.starts_with("-- +goose NO TRANSACTION")
        })
        .unwrap();
        assert_eq!(strip_goose(&up), "CREATE TABLE a (x);\n");
        assert_eq!(strip_goose(&down), "DROP TABLE a;\n");
        assert!(tx);
        assert!(
            split_sections("SELECT 1;", "-- +goose Up", "-- +goose Down", &|_| false).is_none()
        );
    }

    #[test]
    fn versions_lose_their_leading_zeros() {
        assert_eq!(as_number("00001"), "1");
        assert_eq!(as_number("000"), "0");
        assert_eq!(leading_digits("20240101_x.sql"), Some("20240101"));
        assert_eq!(leading_digits("x.sql"), None);
    }

    #[test]
    fn alembic_files_read_without_python() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a1_users.py"),
            "\"\"\"users table\n\nRevision ID: a1\n\"\"\"\nrevision = 'a1'\ndown_revision = None\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b2_posts.py"),
            "\"\"\"posts\"\"\"\nrevision: str = \"b2\"\ndown_revision: Union[str, None] = 'a1'\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("m3_merge.py"),
            "\"\"\"merge\"\"\"\nrevision = 'm3'\ndown_revision = ('b2', 'c4')\n",
        )
        .unwrap();
        let revs = alembic_revisions(dir.path(), dir.path()).unwrap();
        let pairs: Vec<(&str, Vec<String>)> = revs
            .iter()
            .map(|r| (r.revision.as_str(), r.parents.clone()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a1", vec![]),
                ("b2", vec!["a1".to_string()]),
                ("m3", vec!["b2".to_string(), "c4".to_string()]),
            ]
        );
        assert_eq!(revs[0].message, "users table");
    }

    #[test]
    fn peers_by_name() {
        assert_eq!("sqlx".parse::<Peer>().unwrap(), Peer::Sqlx);
        assert_eq!("Alembic".parse::<Peer>().unwrap(), Peer::FlaskMigrate);
        assert!("flyway".parse::<Peer>().is_err());
    }
}
