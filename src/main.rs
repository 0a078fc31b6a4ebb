//! The `xentree` command: `serve`, `migrate`, `demo-data` and `apikey create|list|revoke`.

use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use xentree::auth::{ApiKeyStore, Scopes};
use xentree::config::Settings;
use xentree::server::Application;
use xentree::time::SystemClock;

// Reads build and drop thousands of small strings and messages per request;
// mimalloc serves them from per-thread pages where glibc's allocator spends a
// tenth of the server's time coalescing chunks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "xentree", version, about = "Learner profile and analytics service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies pending migrations, then serves gRPC, gRPC-Web, health and metrics until SIGTERM.
    Serve(Settings),
    /// Applies pending migrations and exits.
    Migrate(DatabaseArgs),
    /// Loads demo learners with months of history (once) and prints a demo JWT as the last line.
    DemoData(xentree::demo::DemoArgs),
    /// Manages API keys.
    Apikey {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        command: ApikeyCommand,
    },
}

#[derive(clap::Args)]
struct DatabaseArgs {
    /// PostgreSQL, the store of record.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Creates a key and prints it once, as the last line.
    Create {
        /// Comma-separated scopes: xp:read, quests:write, conversations:read, events:write, users:write.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Binds the key to a user (it then acts as that user).
        #[arg(long)]
        user: Option<String>,
        /// A label.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Lists keys (never the keys themselves).
    List,
    /// Revokes a key by id.
    Revoke {
        /// The key's id, as listed.
        id: uuid::Uuid,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    xentree::telemetry::init_tracing();
    match Cli::parse().command {
        Command::Serve(settings) => serve(settings).await,
        Command::Migrate(database) => {
            let pool = pool(&database)?;
            xentree::db::migrate(&pool).await
        }
        Command::DemoData(args) => xentree::demo::run(&args).await,
        Command::Apikey { database, command } => apikey(ApiKeyStore::new(pool(&database)?), command).await,
    }
}

fn pool(database: &DatabaseArgs) -> anyhow::Result<deadpool_postgres::Pool> {
    xentree::db::connect(&database.database_url, 2, std::time::Duration::from_secs(5))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    xentree::telemetry::install_metrics(settings.metrics_addr)?;
    let application = Application::build(&settings, Arc::new(SystemClock)).await?;
    application.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
    }
}

async fn apikey(store: ApiKeyStore, command: ApikeyCommand) -> anyhow::Result<()> {
    match command {
        ApikeyCommand::Create { scopes, user, name } => {
            let scopes = Scopes::parse_list(scopes.iter().map(String::as_str)).map_err(anyhow::Error::msg)?;
            let created = store.create(&name, scopes, user.as_deref()).await?;
            println!("created key {} with scopes {scopes}; it is shown only now:", created.key_id);
            println!("{}", created.secret);
        }
        ApikeyCommand::List => {
            for key in store.list().await? {
                let state =
                    key.revoked_at.map_or("active".to_owned(), |at| format!("revoked {}", at.to_rfc3339()));
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    key.key_id,
                    key.scopes,
                    key.user_id.as_deref().unwrap_or("(service)"),
                    if key.name.is_empty() { "-" } else { &key.name },
                    state
                );
            }
        }
        ApikeyCommand::Revoke { id } => {
            let revoked = store.revoke(id).await.context("revoking")?;
            anyhow::ensure!(revoked, "no active key with id {id}");
            println!("revoked {id}");
        }
    }
    Ok(())
}
