//! The library's error type: one variant per area, each wrapping an enum
//! whose variants name the condition and the offending value.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::graph::GraphError;
use crate::runner::RunError;
use crate::schema::inspect::InspectError;
use crate::schema::load::LoadError;
use crate::script::ScriptError;

/// Anything a strata command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Schema(#[from] LoadError),
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// An operation that failed, with a suggestion (exit code 1).
    #[error("{message}")]
    Hinted { message: String, hint: String },
    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A request that makes no sense as given (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// An operation that could not be carried out (exit code 1).
    #[error("{0}")]
    Failed(String),
}

/// Result with strata's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// 2 for usage and configuration errors, 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Usage(_) => 2,
            Error::Graph(e) if e.is_usage() => 2,
            _ => 1,
        }
    }

    /// A suggestion for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => e.hint(),
            Error::Graph(e) => e.hint(),
            Error::Run(e) => e.hint(),
            Error::Script(e) => e.hint(),
            Error::Schema(e) => e.hint(),
            Error::Hinted { hint, .. } => Some(hint.clone()),
            Error::Sqlite { source, .. } if crate::db::is_busy(source) => Some(
                "another process holds a lock on the database (an upgrade, or an application's write transaction); try again when it finishes".into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
        let context = context.into();
        move |source| Error::Sqlite { context, source }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
