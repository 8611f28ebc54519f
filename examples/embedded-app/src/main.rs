//! A tiny application that upgrades its own database before it serves.
//!
//! `embedded-app [DATABASE]` (default `app.db`): opens the database, applies
//! every revision compiled into this binary that it does not have yet, then
//! refuses to go on unless the schema is current. It prints what it did as
//! JSON on stdout, and exits 0, or 3 when a newer build has migrated the
//! database, 4 when an applied revision was edited, 1 for anything else.

use std::process::ExitCode;
use std::time::Duration;

use strata::{ErrorKind, Migrator};

/// Every revision in migrations/, checked at build time.
static MIGRATIONS: strata::Embedded = strata::embed!("migrations");

fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| "app.db".into());
    match start(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e.kind() {
                ErrorKind::NewerDatabase => 3,
                ErrorKind::Edited => 4,
                _ => 1,
            })
        }
    }
}

fn start(path: &str) -> strata::Result<()> {
    let conn = rusqlite::Connection::open(path).map_err(|source| strata::Error::Sqlite {
        context: format!("opening {path}"),
        source,
    })?;
    let migrator = Migrator::new(&MIGRATIONS)?
        .lock_timeout(Duration::from_secs(30))
        .backup(true)
        .allow_newer_database(std::env::var_os("ALLOW_NEWER_DATABASE").is_some());
    let report = migrator.upgrade(&conn)?;
    migrator.ensure_current(&conn)?;
    println!(
        "{}",
        serde_json::json!({ "embedded": MIGRATIONS.len(), "upgrade": report })
    );
    Ok(())
}
