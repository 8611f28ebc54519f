//! Opening the database: read-only for commands that only look, so they can
//! never write; read-write with a lock timeout for those that change it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::OpenError;
use crate::{Error, Result};

/// How long a read-only command waits for a writer's lock before giving up.
pub const READ_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens an existing database read-only, or returns `None` when the file does
/// not exist. Never creates or writes the file.
pub fn open_read(path: &Path) -> Result<Option<Connection>> {
    open_read_waiting(path, READ_LOCK_TIMEOUT)
}

/// [`open_read`], waiting at most `lock_timeout` for a writer's lock.
pub fn open_read_waiting(path: &Path, lock_timeout: Duration) -> Result<Option<Connection>> {
    if !path.exists() {
        return Ok(None);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(Error::sqlite(format!(
        "opening {} read-only",
        display_path(path)
    )))?;
    conn.busy_timeout(lock_timeout)
        .map_err(Error::sqlite("setting the busy timeout"))?;
    check_is_database(&conn, path)?;
    Ok(Some(conn))
}

/// Opens the database for writing, creating the file if needed.
pub fn open_write(path: &Path, lock_timeout: Duration) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(OpenError::NoDirectory {
                database: display_path(path),
                dir: display_path(dir),
            }
            .into());
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(Error::sqlite(format!("opening {}", display_path(path))))?;
    conn.busy_timeout(lock_timeout)
        .map_err(Error::sqlite("setting the lock timeout"))?;
    check_is_database(&conn, path)?;
    check_writable(&conn, path)?;
    Ok(conn)
}

/// Opens an existing database for writing, never creating it. Whether it
/// is a database at all shows at the caller's first read, and whether it
/// may be written is the caller's to check ([`check_writable`]) once it
/// knows it will write: a fleet reads each tenant once, and a tenant at
/// head costs that read and nothing more.
pub fn open_existing(path: &Path, lock_timeout: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(Error::sqlite(format!("opening {}", display_path(path))))?;
    conn.busy_timeout(lock_timeout)
        .map_err(Error::sqlite("setting the lock timeout"))?;
    Ok(conn)
}

/// SQLite opens a file it may not write read-only without a word, and needs
/// to create its journal (`<name>-journal`) beside the database; both would
/// only surface at the first write, as "attempt to write a readonly
/// database". Say which, before any work starts.
pub fn check_writable(conn: &Connection, path: &Path) -> Result<()> {
    let shown = display_path(path);
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(OpenError::ReadOnly { database: shown }.into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Ok(c_dir) = std::ffi::CString::new(dir.as_os_str().as_bytes()) {
            // SAFETY: access(2) reads a NUL-terminated path and has no other
            // preconditions.
            let writable = unsafe { libc::access(c_dir.as_ptr(), libc::W_OK | libc::X_OK) } == 0;
            if !writable {
                return Err(OpenError::DirectoryNotWritable {
                    dir: display_path(dir),
                    database: shown,
                }
                .into());
            }
        }
    }
    Ok(())
}

/// Reading the schema fails with "file is not a database" for anything that
/// is not SQLite; better to say so before any work starts.
fn check_is_database(conn: &Connection, path: &Path) -> Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|_| ())
    .map_err(Error::sqlite(format!("reading {}", display_path(path))))
}

/// Whether an error is SQLite saying the database is locked or busy.
pub fn is_busy(err: &rusqlite::Error) -> bool {
    crate::error::is_busy(err)
}

/// Quotes `text` as an SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Copies the database with SQLite's online backup API — a consistent
/// snapshot even while others write — to `<name>.<YYYYMMDDHHMMSS>.bak` beside
/// it, with the database file's permissions. The copy is written under a
/// temporary name and renamed, so a killed backup never looks complete.
pub fn backup(conn: &Connection, path: &Path) -> Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".into());
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    backup_as(conn, path, dir, &name)
}

/// [`backup`] of `conn` to `<name>.<YYYYMMDDHHMMSS>.bak` in `dir`, with the
/// permissions of the file at `path`.
pub fn backup_as(
    conn: &Connection,
    path: &Path,
    dir: &Path,
    name: &str,
) -> Result<std::path::PathBuf> {
    let stamp = crate::script::format_id(time::OffsetDateTime::now_utc());
    // Each call writes its own partial copy: two runs backing up in the
    // same second (applications starting at once, threads of one) never
    // share a file.
    static TAKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mine = TAKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = dir.join(format!(
        "{name}.{stamp}.{}-{mine}.bak.partial",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&partial);
    conn.backup(
        rusqlite::MAIN_DB,
        &partial,
        None::<fn(rusqlite::backup::Progress)>,
    )
    .map_err(Error::sqlite(format!(
        "backing up to {}",
        partial.display()
    )))?;
    let finish = || -> std::io::Result<std::path::PathBuf> {
        let perms = std::fs::metadata(path)?.permissions();
        std::fs::set_permissions(&partial, perms)?;
        std::fs::File::open(&partial)?.sync_all()?;
        // The first free name, taken without overwriting: a hard link
        // fails on a name another run has just taken.
        let mut n = 0;
        loop {
            let dest = match n {
                0 => dir.join(format!("{name}.{stamp}.bak")),
                n => dir.join(format!("{name}.{stamp}-{n}.bak")),
            };
            n += 1;
            if dest.exists() {
                continue;
            }
            match std::fs::hard_link(&partial, &dest) {
                Ok(()) => {
                    std::fs::remove_file(&partial)?;
                    return Ok(dest);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                // A file system without hard links: a rename, checked above.
                Err(_) => {
                    std::fs::rename(&partial, &dest)?;
                    return Ok(dest);
                }
            }
        }
    };
    let dest = match finish() {
        Ok(dest) => dest,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(Error::io(&partial)(e));
        }
    };
    Ok(dest)
}

fn labels() -> std::sync::MutexGuard<'static, Vec<(std::path::PathBuf, String)>> {
    static LABELS: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
        std::sync::Mutex::new(Vec::new());
    LABELS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shows `path` to the user as `shown` from now on: a cluster's snapshot
/// is named by the cluster's URL, never by its temporary file.
pub fn label(path: &Path, shown: &str) {
    labels().push((path.to_path_buf(), shown.to_string()));
}

/// A path as shown to the user: relative to the working directory when it
/// is inside it, else as given.
pub fn display_path(path: &Path) -> String {
    if let Some((_, shown)) = labels().iter().find(|(p, _)| p == path) {
        return shown.clone();
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            if rel.as_os_str().is_empty() {
                return ".".into();
            }
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_taken_at_once_each_get_their_own_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("app.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let copies: Vec<std::path::PathBuf> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let conn = Connection::open(&path).unwrap();
                        (0..5).map(|_| backup(&conn, &path).unwrap()).collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        let distinct: std::collections::BTreeSet<_> = copies.iter().collect();
        assert_eq!(distinct.len(), 20, "{copies:?}");
        for copy in &copies {
            let n: i64 = Connection::open(copy)
                .unwrap()
                .query_row("SELECT x FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 1);
        }
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
