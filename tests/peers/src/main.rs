//! `strata-peers TOOL DIR DATABASE`: runs TOOL's own migrator over the
//! migrations in DIR against the SQLite file DATABASE, exactly as an
//! application using that tool would at start-up.

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, tool, dir, db] = args.as_slice() else {
        eprintln!("usage: strata-peers refinery|sqlx|diesel DIR DATABASE");
        std::process::exit(2);
    };
    let result = match tool.as_str() {
        "refinery" => refinery(dir, db),
        "sqlx" => sqlx(dir, db),
        "diesel" => diesel(dir, db),
        other => Err(format!("unknown tool {other}")),
    };
    if let Err(e) = result {
        eprintln!("{tool}: {e}");
        std::process::exit(1);
    }
}

fn refinery(dir: &str, db: &str) -> Result<(), String> {
    let migrations = refinery::load_sql_migrations(dir).map_err(|e| e.to_string())?;
    let mut conn = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    refinery::Runner::new(&migrations)
        .run(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn sqlx(dir: &str, db: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options)
            .await
            .map_err(|e| e.to_string())?;
        let migrator = sqlx::migrate::Migrator::new(Path::new(dir))
            .await
            .map_err(|e| e.to_string())?;
        migrator.run(&pool).await.map_err(|e| e.to_string())?;
        pool.close().await;
        Ok(())
    })
}

fn diesel(dir: &str, db: &str) -> Result<(), String> {
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;
    let mut conn = diesel::sqlite::SqliteConnection::establish(db).map_err(|e| e.to_string())?;
    let migrations =
        diesel_migrations::FileBasedMigrations::from_path(dir).map_err(|e| e.to_string())?;
    conn.run_pending_migrations(migrations)
        .map_err(|e| e.to_string())?;
    Ok(())
}
