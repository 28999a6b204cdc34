//! The `movie-bag` command: serve, migrate, seed, import, and promote or demote users.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use movie_bag::config::Settings;
use movie_bag::domain::Role;
use movie_bag::startup::{Application, shutdown_signal};
use movie_bag::{service, store, telemetry};

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

fn print_import_report(report: &service::import::ImportReport) {
    for note in &report.notes {
        println!("{note}");
    }
    let verb = if report.dry_run { "would import" } else { "imported" };
    println!(
        "{verb} {} users and {} movies ({} movies read) in {:.1} s; already present: {} users, {} movies; {} notes above",
        report.users_added,
        report.movies_added,
        report.movies_read,
        report.seconds,
        report.users_present,
        report.movies_present,
        report.notes.len()
    );
    if report.dry_run {
        println!("dry run: nothing was written");
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
            let report = service::import::import(store, files, |read| eprintln!("read {read} movies...")).await?;
            print_import_report(&report);
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
