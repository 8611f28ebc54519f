//! Rows made up to fit a schema, for `verify`: a down script that can only
//! run on empty tables (it re-adds a NOT NULL column with no default, or a
//! UNIQUE column with one shared default) passes on an empty scratch
//! database and fails in production. `verify` therefore fills every empty
//! table before each revision.
//!
//! Each table gets [`ROWS`] rows, parents before children. Values fit the
//! column's type (exactly, in a STRICT table), are never NULL, differ from
//! row to row (so UNIQUE holds), and a foreign-key column takes the value
//! its parent row got. A CHECK the values break is retried with other
//! values; a table no candidate fits stays empty and is reported.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::schema::{affinity, inspect::inspect, Column, Schema, Table};
use crate::sql::quote_ident;
use crate::{Error, Result};

/// Rows per table.
pub const ROWS: i64 = 2;

/// Fills every empty table of `conn`'s schema; returns the tables that no
/// made-up row fits.
pub fn fill_empty_tables(conn: &Connection) -> Result<Vec<String>> {
    let schema = inspect(conn)?;
    let mut unfilled = Vec::new();
    // The seed each filled table's values started from, so a child row
    // can name its parent row's key.
    let mut seeds: BTreeMap<String, i64> = BTreeMap::new();
    for table in schema.tables_parents_first() {
        let count: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {}", quote_ident(&table.name)),
                [],
                |r| r.get(0),
            )
            .map_err(Error::sqlite("counting rows in a scratch database"))?;
        if count > 0 {
            continue;
        }
        // Two rows of made-up values; failing that, rows that take each
        // column's default where it has one (a one-row table such as
        // `lock CHAR(1) DEFAULT 'X' UNIQUE CHECK (lock = 'X')`), then one row.
        let attempts = [(ROWS, false), (ROWS, true), (1, false), (1, true)];
        let fits = attempts.iter().find(|&&(rows, defaults)| {
            SEEDS.iter().any(|&seed| {
                seeds.insert(table.name.to_lowercase(), seed);
                insert_rows(conn, &schema, &seeds, table, rows, defaults).is_ok()
            })
        });
        if fits.is_none() {
            seeds.remove(&table.name.to_lowercase());
            unfilled.push(table.name.clone());
        }
    }
    Ok(unfilled)
}

/// Starting points for the values: small positive numbers first, then
/// others for CHECKs that refuse those (`x > 100`, `x < 0`, a long text).
const SEEDS: [i64; 4] = [1, 1000, -1000, 0];

/// Inserts [`ROWS`] rows in one savepoint, all or none.
fn insert_rows(
    conn: &Connection,
    schema: &Schema,
    seeds: &BTreeMap<String, i64>,
    table: &Table,
    rows: i64,
    defaults: bool,
) -> rusqlite::Result<()> {
    conn.execute_batch("SAVEPOINT strata_synth")?;
    let result = (|| {
        let columns: Vec<&Column> = table
            .columns
            .iter()
            .filter(|c| !(c.is_generated() || (defaults && c.default.is_some())))
            .collect();
        if columns.is_empty() {
            for _ in 0..rows {
                conn.execute_batch(&format!(
                    "INSERT INTO {} DEFAULT VALUES",
                    quote_ident(&table.name)
                ))?;
            }
            return Ok(());
        }
        let names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
        for row in 0..rows {
            let values: Vec<String> = columns
                .iter()
                .map(|c| value_for(schema, seeds, table, c, row))
                .collect();
            conn.execute_batch(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote_ident(&table.name),
                names.join(", "),
                values.join(", ")
            ))?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("RELEASE strata_synth"),
        Err(e) => {
            conn.execute_batch("ROLLBACK TO strata_synth; RELEASE strata_synth")?;
            Err(e)
        }
    }
}

/// The value of `column` in row `row`: its parent row's value for a
/// foreign-key column, else a literal of its type.
fn value_for(
    schema: &Schema,
    seeds: &BTreeMap<String, i64>,
    table: &Table,
    column: &Column,
    row: i64,
) -> String {
    let n_of = |t: &Table| seeds.get(&t.name.to_lowercase()).copied().unwrap_or(1) + row;
    for fk in &table.foreign_keys {
        let Some(at) = fk
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(&column.name))
        else {
            continue;
        };
        let Some(parent) = schema.table(&fk.table) else {
            continue;
        };
        let parent_column = match fk.to.get(at) {
            Some(name) => parent.column(name),
            None => parent
                .primary_key()
                .get(at)
                .and_then(|name| parent.column(name)),
        };
        if let Some(pc) = parent_column {
            if seeds.contains_key(&parent.name.to_lowercase()) {
                return literal(parent, pc, n_of(parent));
            }
            // A parent that held rows already (the application's own,
            // like a default group): point at one of those.
            let (parent, pc) = (quote_ident(&parent.name), quote_ident(&pc.name));
            return format!(
                "(SELECT {pc} FROM {parent} ORDER BY rowid LIMIT 1 OFFSET ({row} % max(1, (SELECT count(*) FROM {parent}))))"
            );
        }
    }
    literal(table, column, n_of(table))
}

/// A literal of `column`'s type for row `n`.
fn literal(table: &Table, column: &Column, n: i64) -> String {
    let declared = column.decl_type.to_ascii_uppercase();
    let kind = if table.strict {
        match declared.as_str() {
            "INT" | "INTEGER" => "INTEGER",
            "REAL" => "REAL",
            "TEXT" => "TEXT",
            "BLOB" => "BLOB",
            _ => "INTEGER",
        }
    } else if column.pk > 0 && declared.is_empty() {
        "INTEGER"
    } else {
        affinity(&column.decl_type)
    };
    match kind {
        "INTEGER" | "NUMERIC" => n.to_string(),
        "REAL" => format!("{n}.5"),
        "BLOB" if table.strict => format!("x'{:02x}'", n.rem_euclid(256)),
        "BLOB" => n.to_string(),
        _ => format!("'strata row {n}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_tables_to_fit_types_checks_and_foreign_keys() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (code TEXT PRIMARY KEY, n INT NOT NULL UNIQUE) STRICT;
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_code TEXT NOT NULL REFERENCES parent (code),
                 qty INT CHECK (qty > 100), self INT REFERENCES child (id));
             CREATE TABLE impossible (x INT CHECK (x = 42));",
        )
        .unwrap();
        let unfilled = fill_empty_tables(&conn).unwrap();
        assert_eq!(unfilled, ["impossible"]);
        let count = |t: &str| -> i64 {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count("parent"), ROWS);
        assert_eq!(count("child"), ROWS);
        let orphans: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(orphans, 0);
        // A second pass leaves filled tables alone.
        fill_empty_tables(&conn).unwrap();
        assert_eq!(count("child"), ROWS);
    }
}
