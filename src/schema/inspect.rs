//! `&Connection -> Schema`: reads `sqlite_schema`, `PRAGMA table_xinfo` and
//! `PRAGMA foreign_key_list`, and tokenizes each stored CREATE text for what
//! the pragmas do not show. The live database and `schema.sql` (executed in
//! memory) are both read here.

use rusqlite::Connection;

use super::table::{parse_table, ColumnText};
use super::{
    is_internal, is_peer_bookkeeping, is_virtual, Column, ForeignKey, Object, ObjectKind, Schema,
    Table, VirtualTable, VIRTUAL_MODULES,
};
use crate::sql::statement_key;

/// Why a schema cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("reading the schema: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("virtual table '{name}' uses module '{module}', which strata does not manage (it manages {})", VIRTUAL_MODULES.join(", "))]
    Module { name: String, module: String },
}

/// Reads the `main` schema of `conn`, skipping strata's and SQLite's own
/// objects.
pub fn inspect(conn: &Connection) -> Result<Schema, InspectError> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql, rowid FROM main.sqlite_schema \
         WHERE sql IS NOT NULL ORDER BY rowid",
    )?;
    let rows: Vec<(String, String, String, String, i64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    // Virtual tables keep their data in shadow tables, which SQLite makes
    // and names itself (sqlite.org/vtab.html#xshadowname): never part of a
    // diff, a dump or a plan.
    let shadows: std::collections::BTreeSet<String> = conn
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    let mut schema = Schema::default();
    for (kind, name, table, sql, seq) in rows {
        if is_internal(&name)
            || is_internal(&table)
            || is_peer_bookkeeping(&name)
            || is_peer_bookkeeping(&table)
            || shadows.contains(&name)
        {
            continue;
        }
        match kind.as_str() {
            "table" if is_virtual(&sql) => {
                let module = VirtualTable::parse(&sql)
                    .map(|v| v.module)
                    .unwrap_or_default();
                if !VIRTUAL_MODULES.contains(&module.as_str()) {
                    return Err(InspectError::Module { name, module });
                }
                let columns = conn
                    .prepare_cached("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0")?
                    .query_map([&name], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                schema.objects.push(Object {
                    kind: ObjectKind::VirtualTable,
                    key: statement_key(&sql),
                    table: name.clone(),
                    name,
                    sql,
                    seq,
                    columns,
                });
            }
            "table" => {
                schema.tables.push(inspect_table(conn, name, sql, seq)?);
            }
            "index" | "view" | "trigger" => {
                let kind = match kind.as_str() {
                    "index" => ObjectKind::Index,
                    "view" => ObjectKind::View,
                    _ => ObjectKind::Trigger,
                };
                schema.objects.push(Object {
                    kind,
                    key: statement_key(&sql),
                    name,
                    table,
                    sql,
                    seq,
                    columns: Vec::new(),
                });
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn inspect_table(
    conn: &Connection,
    name: String,
    sql: String,
    seq: i64,
) -> rusqlite::Result<Table> {
    let text = parse_table(&sql);
    let mut stmt = conn.prepare_cached(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
    )?;
    let columns = stmt
        .query_map([&name], |r| {
            let col_name: String = r.get(0)?;
            let parsed = text
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(&col_name))
                .cloned()
                .unwrap_or_else(|| ColumnText {
                    name: col_name.clone(),
                    ..ColumnText::default()
                });
            Ok(Column {
                name: col_name,
                decl_type: r.get(1)?,
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get::<_, i64>(4)? as u32,
                hidden: r.get(5)?,
                text: parsed,
            })
        })?
        .collect::<rusqlite::Result<Vec<Column>>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
         FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let mut foreign_keys: Vec<(i64, ForeignKey)> = Vec::new();
    let mut rows = stmt.query([&name])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let from: String = r.get(2)?;
        let to: Option<String> = r.get(3)?;
        match foreign_keys.last_mut() {
            Some((last, fk)) if *last == id => {
                fk.columns.push(from);
                fk.to.extend(to);
            }
            _ => foreign_keys.push((
                id,
                ForeignKey {
                    columns: vec![from],
                    table: r.get(1)?,
                    to: to.into_iter().collect(),
                    on_update: r.get(4)?,
                    on_delete: r.get(5)?,
                },
            )),
        }
    }
    Ok(Table {
        name,
        seq,
        columns,
        constraints: text.constraints,
        foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
        strict: text.strict,
        without_rowid: text.without_rowid,
        name_span: text.name_span,
        sql,
    })
}

/// Creates every object of `schema` in `conn` (an empty database), in
/// creation order: an empty replica to try plans on.
pub fn replicate(conn: &Connection, schema: &Schema) -> rusqlite::Result<()> {
    let mut all: Vec<(i64, &str)> = schema
        .tables
        .iter()
        .map(|t| (t.seq, t.sql.as_str()))
        .chain(schema.objects.iter().map(|o| (o.seq, o.sql.as_str())))
        .collect();
    all.sort_by_key(|(seq, _)| *seq);
    let mut batch = String::from("BEGIN;\n");
    for (_, sql) in all {
        batch.push_str(&crate::sql::terminated(sql));
        batch.push('\n');
    }
    batch.push_str("COMMIT;");
    conn.execute_batch(&batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_foreign_keys_and_objects() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a, b));
             CREATE TABLE child (id INTEGER PRIMARY KEY, pa TEXT, pb TEXT,
                 note TEXT COLLATE NOCASE DEFAULT 'n/a',
                 FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE);
             CREATE INDEX child_note ON child (note);
             CREATE VIEW v AS SELECT * FROM child;
             CREATE TABLE strata_history (revision TEXT);",
        )
        .unwrap();
        let schema = inspect(&conn).unwrap();
        assert_eq!(schema.tables.len(), 2);
        let child = schema.table("CHILD").unwrap();
        assert_eq!(child.foreign_keys.len(), 1);
        let fk = &child.foreign_keys[0];
        assert_eq!(fk.columns, ["pa", "pb"]);
        assert_eq!(fk.to, ["a", "b"]);
        assert_eq!(fk.on_delete, "CASCADE");
        let note = child.column("note").unwrap();
        assert_eq!(note.default.as_deref(), Some("'n/a'"));
        assert_eq!(note.text.collation.as_deref(), Some("nocase"));
        assert_eq!(child.rowid_alias().unwrap().name, "id");
        assert_eq!(schema.objects.len(), 2);
        assert_eq!(schema.objects[0].kind, ObjectKind::Index);
        let copy = Connection::open_in_memory().unwrap();
        replicate(&copy, &schema).unwrap();
        assert_eq!(inspect(&copy).unwrap().dump(), schema.dump());
    }
}
