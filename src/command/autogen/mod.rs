//! Autogenerate and the schema checks, one file per verb: `migrate`,
//! `check`, `diff` and `dump`, `verify`; `init --from-db`'s baseline is
//! here with the helpers they share.
//!
//! `migrate` never writes a script it has not tried: the up script is run on
//! an empty replica of the database's schema and must give exactly
//! schema.sql; the down script must then give the database's schema back.
//! A planner mistake is an error naming the change, never a wrong script.

mod check;
mod drift;
mod migrate;
mod verify;

pub use check::*;
pub use drift::*;
pub use migrate::*;
pub use verify::*;

use std::collections::BTreeSet;
use std::fs;

use rusqlite::Connection;

use crate::config::{display_path, Project};
use crate::diff::{self, Change};
use crate::error::CommandError;
use crate::plan::{self, ColumnOrder};
use crate::runner;
use crate::schema::inspect::inspect;
use crate::schema::load::load_into;
use crate::schema::Schema;
use crate::script::Migrations;
use crate::{db, Error, Result};

/// The database's schema, read-only; an empty schema when the file does
/// not exist.
fn live_schema(project: &Project) -> Result<(Option<Connection>, Schema)> {
    let path = project.database()?;
    match db::open_read(path)? {
        Some(conn) => {
            let schema = inspect_project(project, &conn)?;
            Ok((Some(conn), schema))
        }
        None => Ok((None, Schema::default())),
    }
}

/// The project's database's schema, without what strata.toml excludes.
pub fn inspect_project(project: &Project, conn: &Connection) -> Result<Schema> {
    let mut schema = inspect(conn)?;
    schema.exclude(|name| project.excludes(name));
    Ok(schema)
}

/// The declared schema from `schema.sql`.
pub fn desired_schema(project: &Project) -> Result<Schema> {
    Ok(load_desired(project)?.1)
}

/// The declared schema, and the in-memory database `schema.sql` was
/// executed in.
fn load_desired(project: &Project) -> Result<(Connection, Schema)> {
    let path = &project.schema;
    let shown = display_path(path);
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| CommandError::SchemaNotUtf8 {
            file: shown.clone(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CommandError::SchemaMissing { file: shown }.into())
        }
        Err(e) => return Err(Error::io(path)(e)),
    };
    Ok(load_into(scratch_plain(project)?, &text, &shown)?)
}

/// An empty in-memory database with foreign keys off, as the runner runs
/// scripts: where plans and revisions are tried.
pub(crate) fn scratch(project: &Project) -> Result<Connection> {
    let conn = scratch_plain(project)?;
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(Error::sqlite("preparing a scratch database"))?;
    Ok(conn)
}

/// An empty in-memory database that knows the application's functions
/// and collations (stand-ins, `command::register_app_sql`), SQLite's defaults
/// otherwise: where schema.sql is loaded.
fn scratch_plain(project: &Project) -> Result<Connection> {
    let conn = Connection::open_in_memory().map_err(Error::sqlite("opening a scratch database"))?;
    crate::command::register_app_sql(&conn, &project.app_sql)?;
    Ok(conn)
}

/// The live database, read-only; an error with a hint when it does not
/// exist.
fn existing_database(project: &Project) -> Result<(Connection, &std::path::Path)> {
    let path = project.database()?;
    match db::open_read(path)? {
        Some(conn) => Ok((conn, path)),
        None => Err(CommandError::DatabaseMissing {
            database: display_path(path),
            hint: true,
        }
        .into()),
    }
}

/// An in-memory database holding the schema the revisions in `upto`
/// produce, run in graph order (with foreign keys off, like the runner).
pub(crate) fn replay(
    project: &Project,
    migrations: &Migrations,
    upto: &BTreeSet<String>,
) -> Result<Connection> {
    let conn = scratch(project)?;
    for rev in migrations.in_order().filter(|r| upto.contains(&r.id)) {
        runner::execute_script(&conn, &rev.up, rev.up.transactional)?;
    }
    Ok(conn)
}

/// A unified diff of two schemas' normalized DDL.
fn unified(a: &Schema, b: &Schema, a_name: &str, b_name: &str) -> String {
    let (a, b) = (a.dump(), b.dump());
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(a_name, b_name)
        .to_string()
}

/// The schema of schema.sql, or with `live` of the live database (read-only):
/// what `erd` draws.
pub fn schema_of(project: &Project, live: bool) -> Result<Schema> {
    if live {
        let (conn, _) = existing_database(project)?;
        inspect_project(project, &conn)
    } else {
        desired_schema(project)
    }
}

/// Every difference between `a` and `b`, column order included: what a
/// down must undo to restore a schema exactly.
pub(crate) fn exact_differences(a: &Schema, b: &Schema) -> Vec<String> {
    let mut lines: Vec<String> = diff::diff(a, b).iter().flat_map(Change::describe).collect();
    lines.extend(diff::column_order(a, b));
    lines
}

/// The baseline revision's scripts for an existing schema: create it all;
/// drop it all.
pub fn baseline(schema: &Schema) -> (String, String) {
    let empty = Schema::default();
    let changes = diff::diff(&empty, schema);
    let up = plan::plan(&changes, &empty, ColumnOrder::Exact);
    let down = plan::plan(&diff::reverse(&changes), schema, ColumnOrder::Exact);
    (up.render(), down.render())
}
