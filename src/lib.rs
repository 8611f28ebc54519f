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

pub mod command;
pub mod config;
pub mod db;
pub mod diff;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod history;
pub mod interrupt;
pub mod plan;
pub mod runner;
pub mod schema;
pub mod script;
pub mod sql;

pub use error::{Error, Result};

/// strata's version, recorded in `strata_log` with every change it makes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
