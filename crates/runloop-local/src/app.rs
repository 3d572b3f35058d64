//! Startup, serving and shutdown of one server instance.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustix::fd::OwnedFd;
use rustix::fs::{FlockOperation, Mode, OFlags};
use tokio::net::TcpListener;

use crate::clock::now_ms;
use crate::config::Config;
use crate::http::{router, AppState};
use crate::layers::LayerStore;
use crate::sandbox::{EnginePaths, SandboxEngine};
use crate::services::{CaptureSettings, Services};
use crate::store::Store;

/// A server instance whose data dir is recovered and whose base layer is mounted.
pub struct App {
    services: Arc<Services>,
    state: AppState,
    /// Exclusive lock on the data dir, held for the life of the instance.
    _data_dir_lock: OwnedFd,
}

impl App {
    /// Checks the host, takes the data dir, recovers from a previous run and mounts the base
    /// layer.
    ///
    /// Recovery after a crash or restart: devboxes that were not `shutdown` or `failure` are
    /// marked `shutdown` (their processes are gone), captures still in progress end as
    /// `error`, and the mounts and cgroups they left are removed. Completed snapshots stay
    /// usable.
    pub async fn init(config: Config) -> anyhow::Result<Self> {
        if config.token.is_empty() {
            anyhow::bail!("the API token is empty; pass a non-empty --token or RUNLOOP_API_KEY");
        }
        // Settings are checked before anything is mounted, so a bad one leaves nothing behind.
        let capture = CaptureSettings::from_config(&config)?;
        crate::http::check_cors_origins(&config.cors_origins)?;
        let data_dir = prepare_data_dir(&config.data_dir)?;
        let data_dir_lock = lock_data_dir(&data_dir)?;

        let layers_dir = data_dir.join("layers");
        let engine = SandboxEngine::new(EnginePaths {
            data_dir: data_dir.clone(),
            layers_dir: layers_dir.clone(),
            devboxes_dir: data_dir.join("devboxes"),
            empty_dir: data_dir.join("empty"),
        })?;
        let store = Store::open(&data_dir.join("state.db"))?;
        #[cfg(feature = "test-hooks")]
        let store = store.with_max_completed_executions(config.max_completed_executions);
        let store = Arc::new(store);

        engine.clean_up_previous_run().await?;
        let ended = store.shut_down_live_devboxes(now_ms())?;
        if !ended.is_empty() {
            tracing::info!(count = ended.len(), devbox_ids = ?ended, "marked devboxes of the previous run as shutdown");
        }
        let interrupted = crate::services::finish_interrupted_executions(&store)?;
        if !interrupted.is_empty() {
            tracing::info!(count = interrupted.len(), execution_ids = ?interrupted, "completed executions that the previous run left unfinished");
        }
        let failed = store.fail_unfinished_snapshots(
            "the server stopped before the capture finished; take a new snapshot",
        )?;
        if !failed.is_empty() {
            tracing::info!(count = failed.len(), snapshot_ids = ?failed, "marked unfinished snapshot captures as error");
        }

        let layers = Arc::new(LayerStore::new(
            layers_dir,
            engine.layers_view(),
            engine.copy_program().to_path_buf(),
            store.clone(),
        ));
        layers.recover()?;
        engine.mount_base().await?;

        let services = Arc::new(Services::new(store, engine, layers, capture));
        let state = AppState::new(services.clone(), &config)?;
        tracing::info!(data_dir = %data_dir.display(), "runloop-local is ready");
        Ok(Self {
            services,
            state,
            _data_dir_lock: data_dir_lock,
        })
    }

    /// Returns the state to build a [`router`] with.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves HTTP/1.1 and cleartext HTTP/2 on `listener` until `shutdown` resolves, then
    /// stops every devbox, unmounts every overlay and removes every cgroup it created.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop_long_polls = self.services.shutdown_token();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down");
            stop_long_polls.cancel();
        };

        let served = axum::serve(listener, router(self.state.clone()))
            .with_graceful_shutdown(signal)
            .await;
        self.services.shut_down().await;
        tracing::info!("stopped");
        served.context("the HTTP server failed")
    }
}

/// Starts a server on `listener` with `config` and serves until `shutdown` resolves, then
/// cleans up. Requests that arrive while it starts wait in the listener's backlog, so a
/// caller can send requests as soon as it has bound the listener.
pub async fn launch_with_listener(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    App::init(config).await?.serve(listener, shutdown).await
}

/// Creates the data dir and returns its canonical path, which must fit in overlay mount
/// options.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "failed to create the data dir {}; pass a writable --data-dir",
            dir.display()
        )
    })?;
    let canonical = dir
        .canonicalize()
        .with_context(|| format!("failed to resolve the data dir {}", dir.display()))?;

    let text = canonical.to_str().with_context(|| {
        format!(
            "the data dir path {} is not valid UTF-8; choose another --data-dir",
            canonical.display()
        )
    })?;
    if text == "/" {
        anyhow::bail!(
            "the data dir cannot be /; choose a dedicated directory such as /var/lib/runloop-local"
        );
    }
    if text.contains([',', ':', '\\']) || text.chars().any(char::is_control) {
        anyhow::bail!(
            "the data dir path {text} contains a comma, colon, backslash or control character, \
             which overlay mount options cannot carry; choose another --data-dir"
        );
    }
    Ok(canonical)
}

/// Takes an exclusive lock on `data_dir/lock`, so a second server cannot clean up the
/// mounts of a running one.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<OwnedFd> {
    let path = data_dir.join("lock");
    let fd = rustix::fs::open(
        &path,
        OFlags::RDWR | OFlags::CREATE | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("failed to open {}", path.display()))?;

    match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(fd),
        Err(rustix::io::Errno::WOULDBLOCK) => anyhow::bail!(
            "another runloop-local is using the data dir {}; stop it or pass another --data-dir",
            data_dir.display()
        ),
        Err(error) => Err(std::io::Error::from(error))
            .with_context(|| format!("failed to lock {}", path.display())),
    }
}
