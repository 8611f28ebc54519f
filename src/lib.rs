//! strata: schema migrations for SQLite, in the style of `flask db`.
//!
//! A developer declares the schema they want in `schema.sql`; strata diffs it
//! against the live database, writes a versioned pair of up/down SQL scripts,
//! and applies or reverts them safely. The code is a pipeline of plain data;
//! only `schema::inspect`, `schema::load`, the script directory and the runner
//! touch I/O:
//!
//! ```text
//! schema.sql ─load──▶ Schema (desired) ─┐
//! live DB ──inspect─▶ Schema (current) ─┴─▶ diff ─▶ Vec<Change> ─reverse─▶ Vec<Change> (down)
//!                                                       │                          │
//!                                                     plan                       plan
//!                                                       ▼                          ▼
//!                                                  Plan (up)                  Plan (down)
//!                                                       └────── render ───────────┘
//!                                                                  ▼
//!                                           migrations/<id>_<slug>.up.sql / .down.sql
//!
//! migrations/ ─load─▶ Vec<Revision> ─▶ RevisionGraph ─┐
//! "head" | "+1" | "-1" | "base" | "2026…" ─▶ Target ──┼─▶ path ─▶ runner::apply ─▶ Report
//! strata_history (applied revisions) ─────────────────┘          (one transaction per revision)
//! ```
//!
//! Imports point down only: `command → {runner, script, graph, history,
//! plan, diff, schema, config} → sql`; `graph` imports no other strata
//! module, and `schema` only the lexical `sql` layer. The binary in `src/bin/strata` is the edge: argument parsing,
//! printing and exit codes.

// The embedding API: what an application needs, documented.
pub mod build;
mod embed;
pub mod error;
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
