//! Revisions compiled into the application: [`embed!`](crate::embed!) and
//! the value it gives.

/// Every revision of a migrations directory, compiled into the program by
/// [`embed!`](crate::embed!). Hand it to [`Migrator::new`](crate::Migrator::new).
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    dir: &'static str,
    files: &'static [(&'static str, &'static str)],
}

impl Embedded {
    /// Called by the code [`build::embed`](crate::build::embed) generates;
    /// not for use by hand.
    #[doc(hidden)]
    pub const fn __new(dir: &'static str, files: &'static [(&'static str, &'static str)]) -> Self {
        Embedded { dir, files }
    }

    /// The directory the revisions came from, relative to the crate's
    /// manifest, as messages show it.
    pub fn dir(&self) -> &'static str {
        self.dir
    }

    /// How many revisions are embedded.
    pub fn len(&self) -> usize {
        self.files
            .iter()
            .filter(|(name, _)| name.ends_with(".up.sql"))
            .count()
    }

    /// Whether the directory held no revisions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn files(&self) -> &'static [(&'static str, &'static str)] {
        self.files
    }
}

/// Compiles a migrations directory into the program.
///
/// The application's build script names the directory once
/// (`strata::build::embed("migrations")`), which reads and checks every
/// revision at build time — a bad header or a missing down script is a
/// compile error here, naming the file — and makes Cargo rebuild when a
/// file changes. The macro then expands to an [`Embedded`]:
///
/// ```ignore
/// static MIGRATIONS: strata::Embedded = strata::embed!("migrations");
///
/// let conn = rusqlite::Connection::open("app.db")?;
/// strata::Migrator::new(&MIGRATIONS)?.upgrade(&conn)?;
/// ```
///
/// See `docs/embedding.md` for the whole set-up.
#[macro_export]
macro_rules! embed {
    ($dir:literal) => {
        include!(concat!(
            env!(
                "OUT_DIR",
                "strata::embed! needs a build script that calls strata::build::embed (see docs/embedding.md)"
            ),
            "/strata/",
            $dir,
            ".rs"
        ))
    };
}
