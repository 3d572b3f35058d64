//! Command-line entry point of the `runloop-local` server.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use runloop_local::{App, Config};
use tracing_subscriber::EnvFilter;

/// A local server that speaks the Runloop REST API, with real devboxes and disk snapshots.
///
/// Once it accepts connections it prints one line, `http://HOST:PORT`, to stdout. Stop it
/// with SIGINT or SIGTERM: it then stops every devbox and removes its mounts and cgroups.
/// It must run as root on Linux with overlayfs and the cgroup v1 freezer.
#[derive(Debug, Parser)]
#[command(name = "runloop-local", version)]
struct Cli {
    /// IP address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,

    /// TCP port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Directory for the state database, snapshot layers and devbox file systems; created
    /// if missing. It is hidden inside devboxes.
    #[arg(long, default_value = "/var/lib/runloop-local")]
    data_dir: PathBuf,

    /// API token that clients must send as `Authorization: Bearer <token>`.
    #[arg(long, env = "RUNLOOP_API_KEY", hide_env_values = true)]
    token: Option<String>,

    /// Log filter for stderr: a level (error, warn, info, debug, trace) or a tracing
    /// filter directive such as `runloop_local=debug`.
    #[arg(long, default_value = "info")]
    log_level: String,

    /// Time in seconds a snapshot capture may take before it ends as `error`.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    snapshot_timeout: u64,

    /// Snapshot layers a devbox mounts at most (1 to 400). A capture whose layer chain
    /// would be deeper also writes one squashed layer holding the whole chain.
    #[arg(long, value_name = "LAYERS", default_value_t = runloop_local::DEFAULT_MAX_CHAIN_DEPTH)]
    max_chain_depth: usize,

    /// Browser origin allowed to call the API through CORS, such as
    /// `http://127.0.0.1:5173`; repeat for several. Preflights from other origins get a 403.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,

    /// Serves the in-browser playground from this package directory (the one holding
    /// `playground/`, `js/` and `pkg/`) at `/playground/`, without auth. Off by default.
    #[arg(long, value_name = "PACKAGE_DIR")]
    playground: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();

    let filter = match EnvFilter::try_new(&cli.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("error: invalid --log-level {:?}: {error}", cli.log_level);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let Some(token) = cli.token.clone().filter(|token| !token.is_empty()) else {
        eprintln!("error: no API token; pass --token TOKEN or set RUNLOOP_API_KEY");
        return ExitCode::from(2);
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, token)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, token: String) -> anyhow::Result<()> {
    let address = SocketAddr::new(cli.bind, cli.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| {
            anyhow::anyhow!("failed to listen on {address}: {error}; pass another --bind or --port")
        })?;
    let local = listener.local_addr()?;

    let mut config = Config::new(cli.data_dir, token);
    config.snapshot_timeout = Duration::from_secs(cli.snapshot_timeout);
    config.max_chain_depth = cli.max_chain_depth;
    config.cors_origins = cli.cors_origins;
    config.playground_dir = cli.playground;
    let app = App::init(config).await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "http://{}", reachable_address(local))?;
    stdout.flush()?;
    drop(stdout);

    app.serve(listener, shutdown_signal()).await
}

/// Replaces an unspecified bind address (0.0.0.0 or ::) with loopback, which a local
/// client can connect to.
fn reachable_address(local: SocketAddr) -> SocketAddr {
    match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), local.port())
        }
        _ => local,
    }
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM; only SIGINT stops the server");
                std::future::pending::<()>().await;
            }
        }
    };
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for SIGINT; only SIGTERM stops the server");
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = terminate => {}
        () = interrupt => {}
    }
}
