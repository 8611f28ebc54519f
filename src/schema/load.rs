//! `schema.sql -> Schema`: the declared schema is executed in an in-memory
//! SQLite (SQLite is the parser) and read back by the same inspector as the
//! live database.
//!
//! SQLite accepts a view over a table that does not exist, and a trigger
//! naming a missing column; strata does not. Every view is prepared once,
//! and one `ALTER TABLE … RENAME` of a probe table makes SQLite resolve every
//! view and trigger in the schema, so such a mistake is reported against
//! its line in `schema.sql` instead of surfacing in production.

use rusqlite::Connection;

use super::inspect::{inspect, InspectError};
use super::{is_internal, Schema};
use crate::sql::split::{line_of, split};
use crate::sql::{quote_ident, tokenize, Kind};

/// Why `schema.sql` cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}:{line}: {message}")]
    Statement {
        file: String,
        line: usize,
        message: String,
    },
    /// A statement that declares nothing: data changes, PRAGMAs, `ALTER`.
    #[error("{file}:{line}: only CREATE TABLE, CREATE INDEX, CREATE VIEW and CREATE TRIGGER statements belong in schema.sql (found `{found}`)")]
    NotDeclaration {
        file: String,
        line: usize,
        found: String,
    },
    #[error("{file}: {source}")]
    Inspect { file: String, source: InspectError },
}

impl LoadError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LoadError::NotDeclaration { .. } => Some(
                "schema.sql declares the schema; put data changes in a revision (`strata revision -m …`)"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Where each object was declared, so later checks can name a line.
struct Declared {
    name: String,
    line: usize,
}

/// Executes `text` (the contents of the file shown as `file`) in a fresh
/// in-memory database and inspects it. Returns the connection too, so
/// callers can try plans against the declared schema.
pub fn load(text: &str, file: &str) -> Result<(Connection, Schema), LoadError> {
    let conn = Connection::open_in_memory().map_err(|e| LoadError::Statement {
        file: file.to_string(),
        line: 1,
        message: e.to_string(),
    })?;
    load_into(conn, text, file)
}

/// [`load`] into a database the caller opened: an empty one, prepared as
/// it needs (the application's functions and collations registered).
pub fn load_into(
    conn: Connection,
    text: &str,
    file: &str,
) -> Result<(Connection, Schema), LoadError> {
    let bad = |line: usize, message: String| LoadError::Statement {
        file: file.to_string(),
        line,
        message,
    };
    let mut declared: Vec<Declared> = Vec::new();
    for stmt in split(text) {
        let name = declared_name(stmt.text).map_err(|refusal| match refusal {
            Refusal::NotDeclaration(found) => LoadError::NotDeclaration {
                file: file.to_string(),
                line: stmt.line,
                found,
            },
            Refusal::Other(message) => bad(stmt.line, message),
        })?;
        if is_sqlite_statistics(&name) {
            // ANALYZE output, as `sqlite3 .schema` prints it: SQLite makes
            // and owns these tables (and refuses to have them created).
            continue;
        }
        if is_internal(&name) {
            let owner = if name.to_ascii_lowercase().starts_with("sqlite_") {
                "SQLite reserves for its own tables"
            } else {
                "strata reserves for its bookkeeping"
            };
            return Err(bad(stmt.line, format!("'{name}' is a name {owner}")));
        }
        conn.execute_batch(stmt.text).map_err(|err| {
            let line = match &err {
                rusqlite::Error::SqlInputError { offset, .. } if *offset >= 0 => {
                    line_of(text, stmt.offset + *offset as usize)
                }
                _ => stmt.line,
            };
            bad(line, sqlite_message(&err))
        })?;
        declared.push(Declared {
            name,
            line: stmt.line,
        });
    }
    let line_of_name = |name: &str| {
        declared
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map_or(1, |d| d.line)
    };
    let schema = inspect(&conn).map_err(|source| LoadError::Inspect {
        file: file.to_string(),
        source,
    })?;
    // Views: prepare a query on each, in declaration order.
    for view in schema
        .objects
        .iter()
        .filter(|o| o.kind == super::ObjectKind::View)
    {
        let query = format!("SELECT * FROM {} LIMIT 0", quote_ident(&view.name));
        if let Err(err) = conn.prepare(&query) {
            return Err(bad(
                line_of_name(&view.name),
                format!("view {}: {}", view.name, sqlite_message(&err)),
            ));
        }
    }
    if let Err(message) = check_references(&conn) {
        let culprit = message
            .split_once(": ")
            .and_then(|(what, _)| what.split_once(' '))
            .map(|(_, name)| name.to_string());
        let line = culprit.as_deref().map_or(1, line_of_name);
        return Err(bad(line, message));
    }
    Ok((conn, schema))
}

/// SQLite's own tables that `.schema` and dumps of real databases show:
/// the statistics ANALYZE writes (sqlite.org/fileformat2.html#stat1tab)
/// and the AUTOINCREMENT counters (sqlite.org/autoinc.html).
fn is_sqlite_statistics(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "sqlite_stat1" | "sqlite_stat2" | "sqlite_stat3" | "sqlite_stat4" | "sqlite_sequence"
    )
}

/// Makes SQLite resolve every view and trigger in the schema: it does so
/// when a table is renamed (sqlite.org/lang_altertable.html, "ALTER TABLE
/// RENAME"), and names the first one that does not resolve, as
/// `trigger t: no such table: main.x`.
pub fn check_references(conn: &Connection) -> Result<(), String> {
    let probe = "CREATE TABLE \"strata probe\" (x); \
                 ALTER TABLE \"strata probe\" RENAME TO \"strata probe 2\"; \
                 DROP TABLE \"strata probe 2\";";
    conn.execute_batch(probe).map_err(|err| {
        let _ = conn.execute_batch("DROP TABLE IF EXISTS \"strata probe\"");
        sqlite_message(&err).replacen("error in ", "", 1)
    })
}

/// Why a statement does not belong in schema.sql.
enum Refusal {
    /// Not a CREATE of a table, index, view or trigger: what it is instead.
    NotDeclaration(String),
    Other(String),
}

impl From<&str> for Refusal {
    fn from(message: &str) -> Refusal {
        Refusal::Other(message.to_string())
    }
}

/// The name a statement creates, or why it does not belong in schema.sql.
fn declared_name(stmt: &str) -> Result<String, Refusal> {
    let tokens = tokenize(stmt);
    let words: Vec<&str> = tokens.iter().take(3).map(|t| t.text).collect();
    let first = tokens.first().map(|t| t.text.to_ascii_uppercase());
    let refuse = |found: String| Err(Refusal::NotDeclaration(found));
    if first.as_deref() != Some("CREATE") {
        return refuse(first.unwrap_or_default());
    }
    let mut i = 1;
    if tokens
        .get(i)
        .is_some_and(|t| t.is("temp") || t.is("temporary"))
    {
        return Err(
            "temporary objects do not belong in schema.sql: they vanish when the connection closes"
                .into(),
        );
    }
    if tokens.get(i).is_some_and(|t| t.is("virtual")) {
        i += 1;
    }
    if tokens.get(i).is_some_and(|t| t.is("unique")) {
        i += 1;
    }
    let kind_ok = tokens
        .get(i)
        .is_some_and(|t| t.is("table") || t.is("index") || t.is("view") || t.is("trigger"));
    if !kind_ok {
        return refuse(words.join(" "));
    }
    i += 1;
    if tokens.get(i).is_some_and(|t| t.is("if")) {
        i += 3;
    }
    if tokens.get(i + 1).is_some_and(|t| t.is_punct(".")) {
        let schema = tokens[i].value();
        if !schema.eq_ignore_ascii_case("main") {
            return Err(Refusal::Other(format!(
                "objects in schema '{schema}' do not belong in schema.sql; declare them without a schema prefix"
            )));
        }
        i += 2;
    }
    match tokens.get(i) {
        Some(t) if t.kind == Kind::Word => Ok(t.value()),
        _ => Ok(String::new()),
    }
}

fn sqlite_message(err: &rusqlite::Error) -> String {
    match err {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        load(text, "schema.sql").unwrap_err().to_string()
    }

    #[test]
    fn loads_a_schema() {
        let (_, schema) = load(
            "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE VIEW v AS SELECT id FROM a;\n",
            "schema.sql",
        )
        .unwrap();
        assert_eq!(schema.tables.len(), 1);
        assert_eq!(schema.objects.len(), 1);
    }

    /// Issue 9.7: ANALYZE's table, as `.schema` prints it, is SQLite's own.
    #[test]
    fn sqlite_statistics_tables_are_skipped() {
        let (_, schema) = load(
            "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT);\nCREATE TABLE sqlite_stat1(tbl,idx,stat);\nCREATE TABLE sqlite_sequence(name,seq);\n",
            "schema.sql",
        )
        .unwrap();
        assert_eq!(schema.tables.len(), 1);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            error("CREATE TABLE a (id INTEGER);\n\nCREATE TABLE b (x INTEGER,);"),
            "schema.sql:3: near \")\": syntax error"
        );
        assert_eq!(
            error("CREATE TABLE a (id);\nCREATE VIEW v AS SELECT id FROM missing;"),
            "schema.sql:2: view v: no such table: main.missing"
        );
        assert_eq!(
            error("CREATE TABLE a (id);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO nowhere VALUES (NEW.id);\nEND;"),
            "schema.sql:2: trigger t: no such table: main.nowhere"
        );
        assert!(error("INSERT INTO a VALUES (1);").starts_with("schema.sql:1: only CREATE TABLE"));
        assert!(error("CREATE TABLE strata_history (x);").contains("strata reserves"));
        assert!(error("CREATE TABLE sqlite_foo (x);").contains("SQLite reserves"));
        assert!(error("PRAGMA foreign_keys = ON;").contains("found `PRAGMA`"));
        assert!(error("ATTACH 'x.db' AS x;").contains("found `ATTACH`"));
    }
}
