//! Stand-ins for the application's own SQL functions and collations
//! (strata.toml's `[functions]` and `collations`), registered on scratch
//! databases so the views, triggers and indexes that use them can be
//! created and prepared.

use rusqlite::Connection;

use crate::error::CommandError;
use crate::Result;

/// Registers stand-ins for the application's functions and collations
/// (strata.toml's `functions` and `collations`) on a scratch database, so
/// views, triggers and indexes that use them can be created and prepared.
///
/// Only ever on scratch databases, which hold no one's data: a stand-in
/// function returns NULL and a stand-in collation sorts bytewise, which
/// would corrupt an index of the application's real database.
pub fn register_app_sql(conn: &Connection, app: &crate::config::AppSql) -> Result<()> {
    use crate::config::FunctionKind;
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8;
    for (name, spec) in &app.functions {
        let registered = match spec.kind {
            FunctionKind::Scalar => {
                conn.create_scalar_function(name.as_str(), spec.args, flags, |_| {
                    Ok(rusqlite::types::Value::Null)
                })
            }
            // A window function serves as a plain aggregate too, and a view
            // may use it either way (`sortconcat(x) OVER (…)`).
            FunctionKind::Aggregate => {
                conn.create_window_function(name.as_str(), spec.args, flags, StandIn)
            }
        };
        registered.map_err(|e| CommandError::BadFunction {
            name: name.clone(),
            args: spec.args,
            message: e.to_string(),
        })?;
    }
    for name in &app.collations {
        conn.create_collation(name.as_str(), |a, b| a.cmp(b))
            .map_err(|e| CommandError::BadCollation {
                name: name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(())
}

impl rusqlite::functions::WindowAggregate<(), rusqlite::types::Value> for StandIn {
    fn value(&self, _: Option<&mut ()>) -> rusqlite::Result<rusqlite::types::Value> {
        Ok(rusqlite::types::Value::Null)
    }

    fn inverse(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
        _: &mut (),
    ) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// An aggregate (and window function) that accepts any rows and answers
/// NULL.
struct StandIn;

impl rusqlite::functions::Aggregate<(), rusqlite::types::Value> for StandIn {
    fn init(&self, _: &mut rusqlite::functions::Context<'_>) -> rusqlite::Result<()> {
        Ok(())
    }

    fn step(&self, _: &mut rusqlite::functions::Context<'_>, _: &mut ()) -> rusqlite::Result<()> {
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
        _: Option<()>,
    ) -> rusqlite::Result<rusqlite::types::Value> {
        Ok(rusqlite::types::Value::Null)
    }
}
