//! The seam between the runner and what it writes to: a local SQLite file
//! (a [`rusqlite::Connection`]) or a dqlite cluster (`crate::dqlite`).
//!
//! The runner, the bookkeeping and the history readers speak only this
//! trait: statements with bound values, queries returning rows, and — for
//! an engine whose connection can drop under it — a way back in. What a
//! later engine (rqlite, libSQL) would need to provide is said in
//! docs/design.md §11.

use std::cell::Cell;

use rusqlite::Connection;

/// A value bound to a statement or read from a row, whatever the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Local SQLite's own error, kept whole (its codes and offsets).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The server ran the statement and SQLite failed it.
    #[error("{message}")]
    Remote { code: u64, message: String },
    /// The connection dropped, or the node stopped being the leader: the
    /// statement's fate, and an open transaction's, is unknown until the
    /// state is read again on a new connection.
    #[error("{0}")]
    Lost(String),
    /// No leader could be reached within the wait.
    #[error("{0}")]
    Unavailable(String),
}

/// SQLite's primary result codes strata tells apart.
const SQLITE_BUSY: u64 = 5;
const SQLITE_LOCKED: u64 = 6;
const SQLITE_INTERRUPT: u64 = 9;

impl EngineError {
    /// Another writer holds the lock.
    pub fn is_busy(&self) -> bool {
        match self {
            EngineError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            EngineError::Remote { code, .. } => {
                matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)
            }
            _ => false,
        }
    }

    /// A signal interrupted the statement.
    pub fn is_interrupted(&self) -> bool {
        match self {
            EngineError::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
            }
            EngineError::Remote { code, .. } => code & 0xff == SQLITE_INTERRUPT,
            _ => false,
        }
    }

    /// The connection is gone: reconnect and read before deciding anything.
    pub fn is_lost(&self) -> bool {
        matches!(self, EngineError::Lost(_))
    }

    /// SQLite's message alone, without rusqlite's decoration.
    pub fn message(&self) -> String {
        match self {
            EngineError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(msg))) => msg.clone(),
            EngineError::Sqlite(rusqlite::Error::SqlInputError { msg, .. }) => msg.clone(),
            other => other.to_string(),
        }
    }

    /// Where in the statement a syntax error is, when SQLite says.
    pub fn offset(&self) -> Option<usize> {
        match self {
            EngineError::Sqlite(rusqlite::Error::SqlInputError { offset, .. }) if *offset >= 0 => {
                Some(*offset as usize)
            }
            _ => None,
        }
    }
}

/// One row of a query's result.
pub type Row = Vec<Value>;

impl Value {
    /// The value as text (NULL as empty), for the bookkeeping's columns.
    pub fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Integer(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Text(s) => s.clone(),
            Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }

    /// The value as an integer (NULL and text as 0 unless numeric).
    pub fn int(&self) -> i64 {
        match self {
            Value::Integer(i) => *i,
            Value::Real(f) => *f as i64,
            Value::Text(s) => s.trim().parse().unwrap_or(0),
            _ => 0,
        }
    }

    /// `None` for NULL.
    pub fn int_or_null(&self) -> Option<i64> {
        (!matches!(self, Value::Null)).then(|| self.int())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}

/// What the runner writes through.
pub trait Engine {
    /// Runs one statement with `params` bound; any rows it yields are
    /// read and dropped.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<(), EngineError>;

    /// Runs one query with `params` bound and returns its rows.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, EngineError>;

    /// Runs statements separated by `;`, none of them yielding rows.
    fn execute_batch(&self, sql: &str) -> Result<(), EngineError>;

    /// Whether a transaction is open on this connection.
    fn in_transaction(&self) -> bool;

    /// The local connection, for what only a local file offers (row
    /// progress through application functions, the online backup).
    fn local(&self) -> Option<&Connection> {
        None
    }

    /// After [`EngineError::Lost`]: a new connection to whoever can take
    /// writes now. `Ok(false)` for an engine that cannot reconnect.
    fn reconnect(&self) -> Result<bool, EngineError> {
        Ok(false)
    }

    /// Where the connection goes now (a cluster's leader), for messages.
    fn endpoint(&self) -> Option<String> {
        None
    }
}

impl Engine for Connection {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<(), EngineError> {
        fn drain(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> rusqlite::Result<()> {
            bind(stmt, params)?;
            let mut rows = stmt.raw_query();
            while rows.next()?.is_some() {}
            Ok(())
        }
        if params.is_empty() {
            drain(&mut self.prepare(sql)?, params)?;
        } else {
            // Bookkeeping statements, run once per revision: parsed once.
            let mut cached = self.prepare_cached(sql)?;
            drain(&mut cached, params)?;
        }
        Ok(())
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, EngineError> {
        let mut stmt = self.prepare(sql)?;
        bind(&mut stmt, params)?;
        let columns = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                use rusqlite::types::ValueRef;
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Integer(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute_batch(&self, sql: &str) -> Result<(), EngineError> {
        Ok(Connection::execute_batch(self, sql)?)
    }

    fn in_transaction(&self) -> bool {
        !self.is_autocommit()
    }

    fn local(&self) -> Option<&Connection> {
        Some(self)
    }
}

fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> rusqlite::Result<()> {
    for (i, value) in params.iter().enumerate() {
        use rusqlite::types::ToSqlOutput;
        let value = match value {
            Value::Null => rusqlite::types::Value::Null,
            Value::Integer(v) => rusqlite::types::Value::Integer(*v),
            Value::Real(v) => rusqlite::types::Value::Real(*v),
            Value::Text(v) => rusqlite::types::Value::Text(v.clone()),
            Value::Blob(v) => rusqlite::types::Value::Blob(v.clone()),
        };
        stmt.raw_bind_parameter(i + 1, ToSqlOutput::Owned(value))?;
    }
    Ok(())
}

/// Whether a transaction is open, for an engine that cannot ask its
/// server: set by the statements that open and close one.
#[derive(Debug, Default)]
pub struct TransactionState(Cell<bool>);

impl TransactionState {
    /// Notes what `sql`, just run successfully, did to the transaction.
    pub fn after(&self, sql: &str) {
        let first = sql
            .trim_start()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match first.as_str() {
            "BEGIN" => self.0.set(true),
            "COMMIT" | "END" | "ROLLBACK" => self.0.set(false),
            _ => {}
        }
    }

    /// The transaction is gone with its connection.
    pub fn reset(&self) {
        self.0.set(false);
    }

    pub fn open(&self) -> bool {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_connection_binds_reads_and_reports_sqlite_errors_whole() {
        let conn = Connection::open_in_memory().unwrap();
        Engine::execute_batch(&conn, "CREATE TABLE t (a, b)").unwrap();
        Engine::execute(
            &conn,
            "INSERT INTO t VALUES (?1, ?2)",
            &[Value::Integer(7), Value::from("x")],
        )
        .unwrap();
        Engine::execute(&conn, "INSERT INTO t VALUES (?1, ?2)", &[Value::Null, Value::Real(1.5)])
            .unwrap();
        let rows = conn.query("SELECT a, b FROM t ORDER BY rowid", &[]).unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Value::Integer(7), Value::from("x")],
                vec![Value::Null, Value::Real(1.5)]
            ]
        );
        let err = Engine::execute(&conn, "SELEC 1", &[]).unwrap_err();
        assert!(err.message().contains("syntax error"), "{err}");
        assert!(!err.is_lost());
        assert!(!conn.in_transaction());
        Engine::execute_batch(&conn, "BEGIN").unwrap();
        assert!(conn.in_transaction());
    }

    #[test]
    fn transaction_state_follows_the_statements() {
        let state = TransactionState::default();
        state.after("  begin immediate");
        assert!(state.open());
        state.after("INSERT INTO t VALUES (1)");
        assert!(state.open());
        state.after("COMMIT");
        assert!(!state.open());
        state.after("BEGIN");
        state.reset();
        assert!(!state.open());
    }

    #[test]
    fn remote_codes_read_as_busy_or_interrupted() {
        let busy = EngineError::Remote {
            code: 5,
            message: "database is locked".into(),
        };
        assert!(busy.is_busy() && !busy.is_interrupted());
        // Extended codes keep the primary code in the low byte.
        let busy_snapshot = EngineError::Remote {
            code: 5 | (2 << 8),
            message: String::new(),
        };
        assert!(busy_snapshot.is_busy());
        assert!(EngineError::Lost("eof".into()).is_lost());
    }
}
