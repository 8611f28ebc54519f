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
static WATCHED: Mutex<Watched> = Mutex::new(Watched {
    next: 0,
    handles: Vec::new(),
    holds: 0,
});

/// The connections being written now, and the runs that are under way
/// even between connections (a fleet between two tenants).
struct Watched {
    next: u64,
    handles: Vec<(u64, InterruptHandle)>,
    holds: usize,
}

fn watched() -> std::sync::MutexGuard<'static, Watched> {
    WATCHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether an interrupt has been requested during the current write.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The flag [`requested`] reads, for a run that checks it between units
/// of work (a fleet, before each tenant).
pub fn flag() -> &'static AtomicBool {
    &REQUESTED
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
    let watched = watched();
    let busy = !watched.handles.is_empty() || watched.holds > 0;
    if busy && !REQUESTED.swap(true, Ordering::SeqCst) {
        // A closed stderr must not turn the interruption into a panic.
        let _ = writeln!(
            std::io::stderr(),
            "strata: interrupted; rolling back the revision in progress (again to quit at once)"
        );
        for (_, handle) in &watched.handles {
            handle.interrupt();
        }
    } else {
        std::process::exit(128 + signal);
    }
}

/// While the returned guard lives, a signal interrupts `conn` instead of
/// ending the process. Starts a new run: a signal before it is forgotten.
pub fn watch(conn: &Connection) -> Watch {
    REQUESTED.store(false, Ordering::SeqCst);
    also_watch(conn)
}

/// [`watch`] for one more connection of a run already under way.
pub fn also_watch(conn: &Connection) -> Watch {
    let mut w = watched();
    let id = w.next;
    w.next += 1;
    w.handles.push((id, conn.get_interrupt_handle()));
    Watch(Some(id))
}

/// A run of many connections (a fleet): until the guard drops, a signal
/// stops the run instead of ending the process, even between connections.
pub fn hold() -> Watch {
    REQUESTED.store(false, Ordering::SeqCst);
    watched().holds += 1;
    Watch(None)
}

/// Ends the watch (or the hold) when dropped.
pub struct Watch(Option<u64>);

impl Drop for Watch {
    fn drop(&mut self) {
        let mut w = watched();
        match self.0 {
            Some(id) => w.handles.retain(|(h, _)| *h != id),
            None => w.holds = w.holds.saturating_sub(1),
        }
    }
}
