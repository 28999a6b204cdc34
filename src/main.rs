//! The `movie-bag` command: serve, migrate, seed, import, back up, restore, and promote or
//! demote users.

use std::io::{BufWriter, Write as _};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use clap::{Parser, Subcommand};
use movie_bag::config::Settings;
use movie_bag::domain::Role;
use movie_bag::startup::{Application, shutdown_signal};
use movie_bag::{backup, files, service, store, telemetry};

#[derive(Parser)]
#[command(name = "movie-bag", version, about = "The movie-bag catalogue API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default); applies pending migrations first.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Add synthetic movies (for demos and benchmarks), generated inside the database.
    Seed {
        /// How many movies to add.
        #[arg(long, default_value_t = 10_000)]
        movies: u64,
        /// Seed even though the database has real users.
        #[arg(long)]
        force: bool,
    },
    /// Import the Flask tutorial's MongoDB data, as `mongoexport` wrote it (see the README).
    Import {
        /// The `user` collection (JSON lines or `--jsonArray`).
        #[arg(long)]
        users: std::path::PathBuf,
        /// The `movie` collection (JSON lines or `--jsonArray`).
        #[arg(long)]
        movies: std::path::PathBuf,
        /// Read and check everything, report, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy the SQLite database, consistently, while a server may be using it; the copy is
    /// checked with `PRAGMA integrity_check` before this reports success.
    Backup {
        /// Where to write the copy (created 0600).
        file: std::path::PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the SQLite database with a backup (no server may be using it); the replaced
    /// database is kept beside it, and the restored one is migrated.
    Restore {
        /// A backup made by `movie-bag backup` (or a scheduled one).
        file: std::path::PathBuf,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Make a user an admin.
    Promote { email: String },
    /// Make an admin an ordinary user.
    Demote { email: String },
}

/// The SQLite database's path, or an error saying what to use with PostgreSQL.
fn sqlite_only(settings: &Settings, action: &str) -> anyhow::Result<std::path::PathBuf> {
    settings.database_url.sqlite_path().ok_or_else(|| {
        anyhow::anyhow!(
            "movie-bag {action} works on the embedded SQLite database; with PostgreSQL use pg_dump and pg_restore \
             (README, \"Backing up and restoring\")"
        )
    })
}

/// Prints an import's notes as they are found, buffered (an import may have millions), and
/// its progress on stderr.
struct ImportPrinter {
    out: Mutex<BufWriter<std::io::Stdout>>,
}

impl service::import::ImportListener for ImportPrinter {
    fn note(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A closed stdout loses the report, not the import: the summary's counts still tell.
        let _ = writeln!(out, "{line}");
    }

    fn progress(&self, movies_read: u64) {
        eprintln!("read {movies_read} movies...");
    }
}

impl ImportPrinter {
    /// The summary, after every note.
    fn finish(&self, report: &service::import::ImportReport) -> std::io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let verb = if report.dry_run { "would import" } else { "imported" };
        writeln!(
            out,
            "{verb} {} users and {} movies ({} movies read) in {:.1} s; already present: {} users, {} movies; {} notes above",
            report.users_added,
            report.movies_added,
            report.movies_read,
            report.seconds,
            report.users_present,
            report.movies_present,
            report.notes
        )?;
        if report.dry_run {
            writeln!(out, "dry run: nothing was written")?;
        }
        out.flush()
    }
}

fn load_env_file() -> Result<(), String> {
    let path = std::env::var("ENV_FILE_LOCATION").unwrap_or_else(|_| ".env".to_owned());
    match dotenvy::from_path(&path) {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot read the env file {path}: {e}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(message) = load_env_file() {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    telemetry::init(cli.settings.server.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(cli.settings).await?;
            app.run_until(shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            store::connect(&cli.settings.database_url).await?;
            println!("migrations applied");
        }
        Command::Seed { movies, force } => {
            let store = store::connect(&cli.settings.database_url).await?;
            service::seed::seed(&store, movies, force, |done, total| eprintln!("seeded {done}/{total} movies")).await?;
            println!("added {movies} synthetic movies owned by {}", service::seed::SEED_EMAIL);
        }
        Command::Import { users, movies, dry_run } => {
            let store = store::connect(&cli.settings.database_url).await?;
            let files = service::import::ImportFiles { users, movies, dry_run };
            let printer = Arc::new(ImportPrinter { out: Mutex::new(BufWriter::new(std::io::stdout())) });
            let outcome = service::import::import(store, files, printer.clone()).await;
            // The notes found before a failure are printed too: they say what to fix.
            printer.out.lock().unwrap_or_else(PoisonError::into_inner).flush()?;
            printer.finish(&outcome?)?;
        }
        Command::Backup { file, force } => {
            let database = sqlite_only(&cli.settings, "back up")?;
            let done = tokio::task::spawn_blocking(move || backup::backup(&database, &file, force)).await??;
            println!(
                "backup written to {} ({} bytes, {:.1} s); integrity check passed",
                done.path.display(),
                done.bytes,
                done.took.as_secs_f64()
            );
        }
        Command::Restore { file } => {
            let database = sqlite_only(&cli.settings, "restore")?;
            // Every process using the database holds this lock shared; taking it alone proves
            // none is running, and keeps one from starting until the restore is done.
            let in_use =
                files::lock_beside(&database, store::IN_USE_LOCK, files::LockKind::ExclusiveNow).await.map_err(
                    |error| anyhow::anyhow!("the database {} is in use: {error:#}; stop it first", database.display()),
                )?;
            let restored = database.clone();
            let kept =
                tokio::task::spawn_blocking(move || backup::restore(&restored, &file, store::SQLITE_SCHEMA_VERSION))
                    .await??;
            drop(in_use);
            store::connect(&cli.settings.database_url).await?.close().await;
            match kept {
                Some(kept) => {
                    println!("restored {}; the replaced database is kept as {}", database.display(), kept.display())
                }
                None => println!("restored {}", database.display()),
            }
        }
        Command::User { action } => {
            let (email, role) = match action {
                UserAction::Promote { email } => (email, Role::Admin),
                UserAction::Demote { email } => (email, Role::User),
            };
            let store = store::connect(&cli.settings.database_url).await?;
            let user = service::users::set_role_by_email(store.as_ref(), &email, role).await?;
            println!("{} is now {}", user.email, role.as_str());
        }
    }
    Ok(())
}
