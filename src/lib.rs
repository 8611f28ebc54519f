//! strata: schema migrations for SQLite, in the style of `flask db`.
//!
//! A developer declares the schema they want in `schema.sql`; the `strata`
//! command diffs it against the live database and writes a versioned pair of
//! up/down SQL scripts per revision. This library applies those revisions
//! from inside an application, on its own [`rusqlite::Connection`], with
//! the same bookkeeping as the command — so the two agree on every fact.
//!
//! ```
//! # fn main() -> strata::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # std::fs::write(dir.path().join("1_users.up.sql"),
//! #     "-- strata:revision 1\n-- strata:parent base\n-- strata:message users\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n").unwrap();
//! # std::fs::write(dir.path().join("1_users.down.sql"), "-- strata:revision 1\nDROP TABLE users;\n").unwrap();
//! # let migrations = dir.path();
//! let conn = rusqlite::Connection::open_in_memory().unwrap();
//! // An application embeds its revisions at build time instead:
//! //   static MIGRATIONS: strata::Embedded = strata::embed!("migrations");
//! //   let migrator = strata::Migrator::new(&MIGRATIONS)?;
//! let migrator = strata::Migrator::from_dir(migrations)?;
//! match migrator.upgrade(&conn) {
//!     Ok(report) => assert_eq!(report.steps.len(), 1),
//!     Err(e) if e.kind() == strata::ErrorKind::NewerDatabase => {
//!         panic!("deploy the newer build: {e}")
//!     }
//!     Err(e) => return Err(e),
//! }
//! migrator.ensure_current(&conn)?;
//! # Ok(()) }
//! ```
//!
//! Start with [`embed!`] and [`Migrator`]; `docs/embedding.md` has the
//! whole set-up (build script, features, the supported rusqlite range) and
//! `docs/design.md` the architecture.
//!
//! Features: `bundled` (default) compiles SQLite in; `cli` (default) is the
//! command-line tool — an application turns default features off.

#![warn(missing_docs)]

// The embedding API: what an application needs, documented.
pub mod build;
mod embed;
pub mod error;
pub mod fleet;
mod migrator;

pub use embed::Embedded;
pub use error::{Error, ErrorKind, Result};
pub use graph::Direction;
pub use migrator::{Migrator, Report, RevisionStatus, Status, Step};

/// strata's version, recorded in `strata_log` with every change it makes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The implementation. With the `cli` feature (the command-line tool's) the
/// modules are reachable, hidden from the documentation and not part of the
/// API; without it they are private to the crate.
macro_rules! internal {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "cli")]
        #[doc(hidden)]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "cli"))]
        #[allow(dead_code, unused_imports)]
        mod $name;
    )*};
}

internal! {
    db;
    dqlite;
    engine;
    graph;
    history;
    interrupt;
    runner;
    script;
    sql;
}

// The command-line tool's layer: autogenerate, pictures, configuration.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod command;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod config;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod diff;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod plan;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod schema;
