//! `strata verify`: every revision run up and down on made-up rows.

use rusqlite::Connection;
use serde::Serialize;

use super::{exact_differences, scratch};
use crate::config::Project;
use crate::runner;
use crate::schema::inspect::inspect;
use crate::schema::Schema;
use crate::sql::quote_ident;
use crate::{Error, Result};

/// One revision's verdict in `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyRow {
    pub revision: String,
    pub message: String,
    /// `ok`, or what went wrong.
    pub result: String,
    pub ok: bool,
    /// Tables that were empty when the revision ran (no made-up row fits
    /// them, or its up stops on made-up rows and was checked without them).
    pub empty_tables: Vec<String>,
}

/// `strata verify`: in a scratch database, every revision in order runs up,
/// down, up; down must restore exactly the schema before it (column order
/// included), and the second up must give what the first gave.
///
/// Before each revision every empty table gets made-up rows that fit its
/// types and rules ([`crate::command::synth`]), so a down that can only run on empty
/// tables fails here, not in production. An up that stops on those rows
/// (a precheck the made-up values break) is run again on empty tables: that
/// is a fact about the values, not about the revision.
pub fn verify(project: &Project) -> Result<Vec<VerifyRow>> {
    verify_with(project, &mut |_, _, _| {})
}

/// [`verify`], telling `on_revision` (index, count, message) as each
/// revision starts: for a progress bar.
pub fn verify_with(
    project: &Project,
    on_revision: &mut dyn FnMut(usize, usize, &str),
) -> Result<Vec<VerifyRow>> {
    let migrations = crate::command::migrations(project)?;
    let conn = scratch(project)?;
    let mut rows = Vec::new();
    let mut failed = false;
    let count = migrations.graph.len();
    for (index, rev) in migrations.in_order().enumerate() {
        on_revision(index, count, &rev.message);
        let mut row = VerifyRow {
            revision: rev.id.clone(),
            message: rev.message.clone(),
            result: "ok".into(),
            ok: true,
            empty_tables: Vec::new(),
        };
        if failed {
            row.result = "not run: an earlier revision failed".into();
            row.ok = false;
            rows.push(row);
            continue;
        }
        let outcome = (|| -> Result<Option<String>> {
            row.empty_tables = crate::command::synth::fill_empty_tables(&conn)?;
            let before = inspect(&conn)?;
            if let Err(e) = attempt(&conn, &rev.up) {
                if e.kind() != crate::error::ErrorKind::PrecheckFailed {
                    return Err(e);
                }
                // The made-up rows break a rule this up adds: check the
                // revision's scripts on empty tables instead.
                empty_all_tables(&conn, &before)?;
                row.empty_tables = before.tables.iter().map(|t| t.name.clone()).collect();
                attempt(&conn, &rev.up)?;
            }
            let after = inspect(&conn)?;
            if let Err(e) = attempt(&conn, &rev.down) {
                return Ok(Some(format!("down fails on tables holding rows: {e}")));
            }
            let back = inspect(&conn)?;
            let left = exact_differences(&back, &before);
            if !left.is_empty() {
                return Ok(Some(format!(
                    "down does not restore the schema before up; still needed: {}",
                    left.join("; ")
                )));
            }
            attempt(&conn, &rev.up)?;
            let again = exact_differences(&inspect(&conn)?, &after);
            if !again.is_empty() {
                return Ok(Some(format!(
                    "up after down gives a different schema: {}",
                    again.join("; ")
                )));
            }
            Ok(None)
        })();
        match outcome {
            Ok(None) => {}
            Ok(Some(problem)) => {
                row.result = problem;
                row.ok = false;
            }
            Err(e) => {
                row.result = e.to_string();
                row.ok = false;
            }
        }
        failed |= !row.ok;
        rows.push(row);
    }
    Ok(rows)
}

/// Runs one script on the scratch database as the runner would: a
/// transactional script in one transaction, rolled back if it fails.
fn attempt(conn: &Connection, file: &crate::script::ScriptFile) -> Result<()> {
    if !file.transactional {
        return runner::execute_script(conn, file, false);
    }
    conn.execute_batch("BEGIN").map_err(Error::sqlite(
        "starting a transaction in a scratch database",
    ))?;
    match runner::execute_script(conn, file, true) {
        Ok(()) => conn
            .execute_batch("COMMIT")
            .map_err(Error::sqlite("committing in a scratch database")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Deletes every row of every table of `schema` in the scratch database.
fn empty_all_tables(conn: &Connection, schema: &Schema) -> Result<()> {
    for table in &schema.tables {
        conn.execute_batch(&format!("DELETE FROM {}", quote_ident(&table.name)))
            .map_err(Error::sqlite("emptying a scratch database"))?;
    }
    Ok(())
}
