//! The `skillsmap` command line: serve the map API, or check a dataset.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use skillsmap::config::ServeConfig;
use skillsmap::regions::{Level, RegionLayer};
use skillsmap::server::{self, shutdown_signal};
use skillsmap::{dataset, harvest};

#[derive(Parser)]
#[command(
    name = "skillsmap",
    version,
    about = "A map service for European digital-skills initiatives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (and the map) over HTTP.
    Serve(Box<ServeConfig>),
    /// Validate a dataset file and report every problem; exits 1 if there are errors.
    Check {
        /// The GeoJSON FeatureCollection to check.
        file: PathBuf,
    },
    /// Harvest a partner's feed (a file or an http(s) URL: GeoJSON, OGC API items, CSV) into
    /// the store; exits 1 if the source is unusable (bad records are reported and skipped).
    Import(ImportArgs),
    /// Write a synthetic dataset spread like real initiatives, for scale tests.
    Generate {
        /// How many initiatives.
        #[arg(long)]
        count: usize,
        /// Random seed; the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the GeoJSON.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => serve(*config),
        Command::Check { file } => check(&file),
        Command::Generate { count, seed, out } => generate(count, seed, &out),
        Command::Import(args) => import(&args),
    }
}

fn serve(config: ServeConfig) -> ExitCode {
    init_logging();
    tracing::info!(?config, "starting");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::serve(config, shutdown_signal()));
    // A load still running on a blocking thread (stopped while loading) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(file: &std::path::Path) -> ExitCode {
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    match dataset::check_file(file, today) {
        Ok(dataset) => {
            for warning in &dataset.warnings {
                println!("warning: {warning}");
            }
            let by_field: Vec<String> = dataset::count_by_field(&dataset.warnings)
                .into_iter()
                .map(|(field, n)| format!("{field} {n}"))
                .collect();
            println!(
                "{}: {} initiatives, 0 errors, {} warning(s){}",
                file.display(),
                dataset.initiatives.len(),
                dataset.warnings.len(),
                if by_field.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", by_field.join(", "))
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

fn generate(count: usize, seed: u64, out: &std::path::Path) -> ExitCode {
    // Write beside the target and rename, so a failed run never leaves half a file behind.
    let partial = out.with_extension("partial");
    let result = std::fs::File::create(&partial).and_then(|file| {
        let mut writer = std::io::BufWriter::new(file);
        skillsmap::generate::write_dataset(&mut writer, count, seed)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&partial, out)
    });
    match result {
        Ok(()) => {
            println!("wrote {count} initiatives to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            eprintln!("error: cannot write {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

/// What `skillsmap import` takes.
#[derive(clap::Args)]
struct ImportArgs {
    /// A file path or an http(s) URL.
    source: String,
    /// A TOML file mapping the partner's fields and terms onto ours.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// The feed's name (default: the mapping's `source`, else the host or file name).
    #[arg(long)]
    name: Option<String>,
    /// The store to write into (created and seeded if new): an SQLite file or a
    /// `postgres://` URL; servers following it publish the import by themselves.
    #[arg(long, env = "SKILLSMAP_DB", default_value = "skillsmap.db")]
    db: skillsmap::store::StoreLocation,
    /// Longest time for one HTTP response, e.g. 60s or 2m.
    #[arg(long, default_value = "60s")]
    timeout: String,
    /// Largest response accepted, in bytes.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    max_bytes: usize,
    /// Folder of the web front-end, whose npm packages hold the country outlines that give a
    /// record without a country the one its point lies in.
    #[arg(long, env = "SKILLSMAP_WEB_DIR", default_value = "web")]
    web_dir: PathBuf,
    /// Days the audit log keeps harvest runs' entries (as `serve --harvest-audit-days`).
    #[arg(long, env = "SKILLSMAP_HARVEST_AUDIT_DAYS", default_value_t = skillsmap::config::DEFAULT_HARVEST_AUDIT_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    harvest_audit_days: u32,
}

fn import(args: &ImportArgs) -> ExitCode {
    init_logging();
    match run_import(args) {
        Ok(summary) => {
            for rejected in &summary.rejected {
                let id = rejected.source_id.as_deref().unwrap_or("?");
                println!(
                    "rejected {} (id {id}): {}",
                    rejected.position, rejected.reason
                );
            }
            println!("{}: {summary}", args.source);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_import(args: &ImportArgs) -> Result<harvest::Summary, harvest::HarvestError> {
    let mapping = match &args.mapping {
        Some(path) => harvest::schedule::read_mapping(path)?,
        None => harvest::mapping::Mapping::default(),
    };
    let location = harvest::source::Location::parse(&args.source)?;
    let feed = harvest::Feed::new(location, mapping, args.name.clone())?;
    let limits = harvest::source::Limits {
        timeout: harvest::schedule::duration(&args.timeout, "--timeout")?,
        max_bytes: args.max_bytes,
        ..harvest::source::Limits::default()
    };
    let fetcher = harvest::source::Fetcher::new(limits)?;
    let db = &args.db;
    let mut store = skillsmap::curation::open_store(db, skillsmap::server::SEED_DATASET)
        .map_err(|e| harvest::HarvestError::Source(format!("{db}: {e}")))?;
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0).with_message(format!("harvesting {}", feed.name))
    } else {
        indicatif::ProgressBar::hidden()
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| harvest::HarvestError::Source(format!("cannot start the runtime: {e}")))?;
    let countries = match RegionLayer::packaged(Level::Country, &args.web_dir) {
        Ok(layer) => Some(layer),
        Err(reason) => {
            tracing::warn!(%reason, "records without a country will be rejected");
            None
        }
    };
    let tools = harvest::Tools {
        fetcher: &fetcher,
        progress: &progress,
        countries: countries.as_ref(),
        audit_retention: skillsmap::config::days(args.harvest_audit_days),
    };
    let (summary, _) = runtime.block_on(harvest::run(
        &feed,
        &tools,
        &mut harvest::Target::Own(&mut store),
    ))?;
    progress.finish_and_clear();
    Ok(summary)
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SKILLSMAP_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,tower_http=warn,topojson=error")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
