//! Ctrl-C (SIGINT) and SIGTERM while strata writes a database.
//!
//! A signal arriving while a connection is being written ([`watch`]) asks
//! SQLite to stop the running statement (`sqlite3_interrupt`) and marks the
//! run interrupted, so the runner stops at the next statement boundary too.
//! The open transaction is then rolled back and the command fails with a
//! clear message. A second signal exits at once, which is as safe as a
//! `kill -9`: SQLite's journal undoes the open transaction when the
//! database is next opened. With no write in progress a signal exits at
//! once, as it would without strata's handler.
//!
//! The signal is handled on a thread of its own (signal-hook's iterator),
//! not in a signal handler, so taking a lock and calling into SQLite there
//! is safe.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rusqlite::{Connection, InterruptHandle};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static WATCHED: Mutex<Option<InterruptHandle>> = Mutex::new(None);

/// Whether an interrupt has been requested during the current write.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Routes SIGINT and SIGTERM to strata's handling thread. Call once, early.
#[cfg(all(unix, feature = "cli"))]
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("strata-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                on_signal(signal);
            }
        })?;
    Ok(())
}

/// Signals keep their default behaviour where strata cannot route them.
#[cfg(all(not(unix), feature = "cli"))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}

#[cfg(feature = "cli")]
fn on_signal(signal: i32) {
    let watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    match watched.as_ref() {
        Some(handle) if !REQUESTED.swap(true, Ordering::SeqCst) => {
            // A closed stderr must not turn the interruption into a panic.
            let _ = writeln!(
                std::io::stderr(),
                "strata: interrupted; rolling back the revision in progress (again to quit at once)"
            );
            handle.interrupt();
        }
        _ => std::process::exit(128 + signal),
    }
}

/// While the returned guard lives, a signal interrupts `conn` instead of
/// ending the process.
pub fn watch(conn: &Connection) -> Watch {
    REQUESTED.store(false, Ordering::SeqCst);
    let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    *watched = Some(conn.get_interrupt_handle());
    Watch(())
}

/// Ends the watch when dropped.
pub struct Watch(());

impl Drop for Watch {
    fn drop(&mut self) {
        let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
        *watched = None;
    }
}
