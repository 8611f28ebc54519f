//! The library's error type: one variant per area, each wrapping an enum
//! whose variants name the condition and the offending value, and
//! [`ErrorKind`], the condition alone, for callers that branch on it.
//!
//! This module sits below everything that fails: the runner, the database
//! layer and the commands import it; it imports only the leaf modules whose
//! error enums it aggregates.

use std::path::PathBuf;

#[cfg(feature = "cli")]
mod command;
#[cfg(feature = "cli")]
pub use command::CommandError;

#[cfg(feature = "cli")]
use crate::config::ConfigError;
pub use crate::graph::GraphError;
#[cfg(feature = "cli")]
use crate::schema::{inspect::InspectError, load::LoadError};
pub use crate::script::ScriptError;

/// Anything strata can fail with. Match on [`Error::kind`] for the
/// condition; the variants carry the details.
/// Each variant's message (its `Display`) says what went wrong; the fields
/// are the values that message names.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// strata.toml or the command line is wrong.
    #[cfg(feature = "cli")]
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A revision file is wrong, or a new revision's inputs are.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The revision graph, or a target on it, is wrong.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Applying or reverting a revision stopped.
    #[error(transparent)]
    Run(#[from] RunError),
    /// schema.sql does not load.
    #[cfg(feature = "cli")]
    #[error(transparent)]
    Schema(#[from] LoadError),
    /// The live database's schema cannot be read.
    #[cfg(feature = "cli")]
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// A command-line verb refused or failed.
    #[cfg(feature = "cli")]
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The database file cannot be opened as asked.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// SQLite failed outside any revision's script.
    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A dqlite cluster refused or dropped a statement outside any
    /// revision's script, or had no leader within the wait.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What can stop a run.
/// Each variant's message (its `Display`) says what went wrong; the fields
/// are the values that message names.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Another connection held the write lock for longer than the timeout.
    #[error("the database is locked by another process; gave up after waiting {seconds} s")]
    Locked { seconds: u64 },
    /// A statement of a revision's script failed.
    #[error("{file}:{line}: {message}")]
    Statement {
        file: String,
        line: usize,
        message: String,
    },
    /// A precheck of a revision's script found rows the change would
    /// break (`precheck failed: …`); nothing was changed.
    #[error("{file}:{line}: {message}")]
    Precheck {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}:{line}: transaction control (`{keyword}`) is not allowed: strata runs each revision in its own transaction")]
    TransactionControl {
        file: String,
        line: usize,
        keyword: String,
    },
    #[error("revision {revision} would leave {count} foreign key violation(s): {}", .sample.join("; "))]
    ForeignKey {
        revision: String,
        count: usize,
        sample: Vec<String>,
    },
    /// An applied revision's script is not the one that was applied.
    #[error("{file} was modified after revision {revision} was applied (sha256 {found}, applied as {recorded})")]
    Checksum {
        revision: String,
        file: String,
        recorded: String,
        found: String,
    },
    /// The database has revisions applied that these migrations do not
    /// define: a newer build (or another branch) migrated it.
    #[error("the database has {} applied that this build does not know ({}): a newer build migrated it", plural(.revisions.len(), "revision"), .revisions.join(", "))]
    UnknownApplied { revisions: Vec<String> },
    /// The bookkeeping tables were written by a newer strata.
    #[error("the database's bookkeeping is version {found}, written by a newer strata; this strata {} understands version {understood}", crate::VERSION)]
    NewerBookkeeping { found: i64, understood: i64 },
    /// `ensure_current`: revisions are still to be applied.
    #[error("the database is not at the head revision: {} pending ({})", plural(.pending.len(), "revision"), .pending.join(", "))]
    NotCurrent { pending: Vec<String> },
    /// `rehash` of a revision the database has not applied.
    #[error("revision {revision} is not applied to this database")]
    NotApplied { revision: String },
    /// A backup asked of a connection with no file behind it.
    #[error(
        "backup needs a database file; this connection is to an in-memory or temporary database"
    )]
    BackupNeedsFile,
    #[error("revision {revision} runs outside a transaction (`-- strata:transaction off`), which {mode} cannot do")]
    NonTransactional {
        revision: String,
        mode: &'static str,
    },
    #[error("another process is moving the database the other way (revision {revision} was {what} behind this run's back); stopped after {done} revision(s)")]
    Conflict {
        revision: String,
        what: &'static str,
        done: usize,
    },
    #[error("interrupted: the revision in progress was rolled back; revisions committed before it stay applied")]
    Interrupted,
}

/// What a replicated cluster (`dqlite://…`) can fail with besides SQLite's
/// own errors.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The leader ran the statement and SQLite failed it.
    #[error("{context}: {message}")]
    Remote { context: String, message: String },
    /// The connection dropped or the leader changed while `context`; the
    /// runner reconnects and reads before it decides anything.
    #[error("{context}: the connection to the cluster was lost ({message})")]
    Lost { context: String, message: String },
    /// No leader within the wait: the cluster has no quorum, or its nodes
    /// are down or unreachable. `in_flight`: a run lost its connection
    /// with a COMMIT unanswered, so that revision's fate is unknown.
    #[error("{message}{}", if *.in_flight { "; whether the write in flight committed is unknown until the cluster answers again" } else { "" })]
    Unavailable { message: String, in_flight: bool },
}

impl ClusterError {
    /// A suggestion for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            ClusterError::Unavailable { in_flight: false, .. } => Some(
                "check the addresses, and that a majority of the cluster's nodes is up; then run the command again".into(),
            ),
            ClusterError::Unavailable { in_flight: true, .. } | ClusterError::Lost { .. } => Some(
                "bring a majority of the cluster's nodes back, then run the same command again: it reads strata_history on the leader and applies only what is absent".into(),
            ),
            ClusterError::Remote { .. } => None,
        }
    }
}

/// Why a database cannot be opened for writing; said before any work starts.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("database {database} does not exist (a fleet run never creates one)")]
    Missing { database: String },
    #[error("cannot create database {database}: directory {dir} does not exist")]
    NoDirectory { database: String, dir: String },
    #[error("database {database} is read-only: its permissions do not let this user write it")]
    ReadOnly { database: String },
    #[error("directory {dir} is not writable, and SQLite must create its journal there to change {database}")]
    DirectoryNotWritable { dir: String, database: String },
}

impl OpenError {
    /// A suggestion for the user.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            OpenError::NoDirectory { .. } | OpenError::Missing { .. } => return None,
            OpenError::ReadOnly { .. } => "check the file's owner and mode (or the mount), or run strata as a user who may write it".into(),
            OpenError::DirectoryNotWritable { .. } => "let this user write the directory, or move the database to one it may write".into(),
        })
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl RunError {
    /// A suggestion for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            RunError::Locked { .. } => Some(
                "another process holds a write transaction; wait for it or raise --lock-timeout SECS".into(),
            ),
            RunError::Checksum { revision, .. } => Some(format!(
                "restore the file from version control; if the edit is intended, accept it once with `strata rehash {revision}` (or pass --ignore-checksums for this run only)"
            )),
            RunError::TransactionControl { .. } => Some(
                "remove BEGIN/COMMIT from the script, or put `-- strata:transaction off` in its header".into(),
            ),
            RunError::Precheck { file, .. } => {
                // The script's own file says which way the run was going.
                let again = if file.ends_with(".down.sql") {
                    "downgrade"
                } else {
                    "upgrade"
                };
                Some(format!(
                    "nothing was changed; fix those rows in the database (UPDATE or DELETE them), then run the {again} again"
                ))
            }
            RunError::Conflict { .. } => Some(
                "an upgrade and a downgrade ran at once; the database is at a revision boundary: check `strata current`, then run the one you meant".into(),
            ),
            RunError::NonTransactional { .. } => Some("run it without --single-transaction / --dry-run".into()),
            RunError::ForeignKey { .. } => Some(
                "fix the rows (or the script) so every foreign key points at an existing row; nothing was changed".into(),
            ),
            RunError::NewerBookkeeping { .. } => Some("upgrade strata".into()),
            RunError::NotApplied { .. } => Some(
                "rehash accepts edited files of applied revisions only; a pending revision runs as it is now".into(),
            ),
            _ => None,
        }
    }
}

/// The condition behind an [`Error`], for callers that branch on it (an
/// application refusing to start, a deploy script choosing an exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The database has revisions applied that this build does not know.
    NewerDatabase,
    /// The database's bookkeeping was written by a newer strata.
    NewerBookkeeping,
    /// An applied revision's script was edited after it was applied.
    Edited,
    /// Another connection held the lock past the timeout.
    Locked,
    /// A revision's precheck found rows its change would break.
    PrecheckFailed,
    /// A statement of a revision's script failed (`FILE:LINE` in the message).
    Sql,
    /// A revision would leave foreign-key violations.
    ForeignKey,
    /// `ensure_current`: revisions are pending.
    NotCurrent,
    /// An upgrade and a downgrade ran at once.
    Conflict,
    /// A signal stopped the run.
    Interrupted,
    /// A replicated cluster had no leader within the wait, or the
    /// connection to it dropped for good: re-run once it has quorum.
    Unavailable,
    /// A revision file, or the graph they form, is wrong.
    BadMigrations,
    /// A target, revision or option that makes no sense as given.
    Usage,
    /// Anything else: I/O, SQLite outside a script, configuration.
    Other,
}

impl Error {
    /// The condition, without its details.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Run(e) => match e {
                RunError::Locked { .. } => ErrorKind::Locked,
                RunError::Statement { .. } | RunError::TransactionControl { .. } => ErrorKind::Sql,
                RunError::Precheck { .. } => ErrorKind::PrecheckFailed,
                RunError::ForeignKey { .. } => ErrorKind::ForeignKey,
                RunError::Checksum { .. } => ErrorKind::Edited,
                RunError::UnknownApplied { .. } => ErrorKind::NewerDatabase,
                RunError::NewerBookkeeping { .. } => ErrorKind::NewerBookkeeping,
                RunError::NotCurrent { .. } => ErrorKind::NotCurrent,
                RunError::NonTransactional { .. } | RunError::BackupNeedsFile => ErrorKind::Usage,
                RunError::NotApplied { .. } => ErrorKind::Other,
                RunError::Conflict { .. } => ErrorKind::Conflict,
                RunError::Interrupted => ErrorKind::Interrupted,
            },
            Error::Graph(GraphError::MissingApplied(_)) => ErrorKind::NewerDatabase,
            Error::Graph(e) if e.is_usage() => ErrorKind::Usage,
            Error::Graph(_) | Error::Script(_) => ErrorKind::BadMigrations,
            #[cfg(feature = "cli")]
            Error::Command(e) if e.is_usage() => ErrorKind::Usage,
            Error::Sqlite { source, .. } if is_busy(source) => ErrorKind::Locked,
            Error::Cluster(ClusterError::Lost { .. } | ClusterError::Unavailable { .. }) => {
                ErrorKind::Unavailable
            }
            _ => ErrorKind::Other,
        }
    }

    /// 2 for usage and configuration errors, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            #[cfg(feature = "cli")]
            Error::Config(_) => 2,
            _ if self.kind() == ErrorKind::Usage && !matches!(self, Error::Run(_)) => 2,
            _ => 1,
        }
    }

    /// A suggestion for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            #[cfg(feature = "cli")]
            Error::Config(e) => e.hint(),
            #[cfg(feature = "cli")]
            Error::Schema(e) => e.hint(),
            #[cfg(feature = "cli")]
            Error::Command(e) => e.hint(),
            Error::Graph(e) => e.hint(),
            Error::Run(e) => e.hint(),
            Error::Open(e) => e.hint(),
            Error::Script(e) => e.hint(),
            Error::Cluster(e) => e.hint(),
            Error::Sqlite { source, .. } if is_busy(source) => Some(
                "another process holds a lock on the database (an upgrade, or an application's write transaction); try again when it finishes".into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
        let context = context.into();
        move |source| Error::Sqlite { context, source }
    }

    /// [`Error::sqlite`] for any engine: a local file's errors stay
    /// [`Error::Sqlite`] (codes, offsets and messages as before), a
    /// cluster's become [`Error::Cluster`].
    pub(crate) fn engine(
        context: impl Into<String>,
    ) -> impl FnOnce(crate::engine::EngineError) -> Error {
        use crate::engine::EngineError;
        let context = context.into();
        move |err| match err {
            EngineError::Sqlite(source) => Error::Sqlite { context, source },
            EngineError::Remote { message, .. } => ClusterError::Remote { context, message }.into(),
            EngineError::Lost(message) => ClusterError::Lost { context, message }.into(),
            EngineError::Unavailable(message) => ClusterError::Unavailable {
                message,
                in_flight: false,
            }
            .into(),
        }
    }

    /// The connection to a cluster dropped: what happened is unknown
    /// until the state is read again.
    pub(crate) fn is_lost(&self) -> bool {
        matches!(self, Error::Cluster(ClusterError::Lost { .. }))
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// Whether an error is SQLite saying the database is locked or busy.
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Result with strata's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_exit_codes() {
        let locked: Error = RunError::Locked { seconds: 5 }.into();
        assert_eq!(locked.kind(), ErrorKind::Locked);
        assert_eq!(locked.exit_code(), 1);
        let newer: Error = GraphError::MissingApplied("r9".into()).into();
        assert_eq!(newer.kind(), ErrorKind::NewerDatabase);
        let target: Error = GraphError::InvalidTarget("nope".into()).into();
        assert_eq!((target.kind(), target.exit_code()), (ErrorKind::Usage, 2));
        // Refusing to run a non-transactional revision in one transaction is
        // about the request, but the state of the files decides it.
        let whole: Error = RunError::NonTransactional {
            revision: "r1".into(),
            mode: "--dry-run",
        }
        .into();
        assert_eq!(whole.exit_code(), 1);
    }

    #[test]
    fn messages_count_revisions() {
        let one = RunError::UnknownApplied {
            revisions: vec!["r9".into()],
        };
        assert!(one
            .to_string()
            .starts_with("the database has 1 revision applied that this build does not know (r9)"));
        let two = RunError::NotCurrent {
            pending: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            two.to_string(),
            "the database is not at the head revision: 2 revisions pending (a, b)"
        );
    }
}
