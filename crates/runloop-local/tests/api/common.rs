//! Test harness: a real server on port 0 in its own thread and runtime, with helpers that
//! drive it over HTTP.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use runloop_local::{launch_with_listener, Config};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Token every test server accepts.
pub const TOKEN: &str = "test-token";

/// Maximum wait for a server to finish shutting down.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(120);

/// Instruction that ends a server thread.
enum Stop {
    /// Shut down as on SIGTERM: stop devboxes, unmount, remove cgroups.
    Graceful,
    /// Drop the server mid-flight, leaving processes, mounts and cgroups behind as a crash
    /// would.
    Crash,
}

/// A running server. Dropping it shuts the server down and, if that fails, removes what
/// it left so no test leaks mounts or processes.
pub struct TestServer {
    /// Base URL such as `http://127.0.0.1:41234`.
    pub base_url: String,
    /// Client that sends the bearer token.
    pub client: Client,
    /// The server's data dir.
    pub data_dir: PathBuf,
    devbox_ids: Mutex<Vec<String>>,
    stop: Option<oneshot::Sender<Stop>>,
    /// Receives the server thread's result when it ends.
    finished: Option<mpsc::Receiver<anyhow::Result<()>>>,
    /// Temporary data dir owned by this server, deleted after the server stopped.
    _owned_dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh temporary data dir.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary data dir can be created");
        let mut server = Self::start_with(Config::new(dir.path(), TOKEN));
        server._owned_dir = Some(dir);
        server
    }

    /// Starts a server on `data_dir`, which the caller owns.
    pub fn start_in(data_dir: &Path) -> Self {
        Self::start_with(Config::new(data_dir, TOKEN))
    }

    /// Starts a server with `config`. Returns once the listener is bound; requests wait in
    /// its backlog until the server is ready.
    pub fn start_with(config: Config) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port 0 can be bound");
        listener
            .set_nonblocking(true)
            .expect("listener can be made non-blocking");
        let address = listener.local_addr().expect("listener has an address");
        let data_dir = config.data_dir.clone();

        let (stop_sender, stop_receiver) = oneshot::channel();
        let (finished_sender, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let result = serve(listener, config, stop_receiver);
            let _ = finished_sender.send(result);
        });

        let client = Client::builder()
            .timeout(Duration::from_secs(120))
            .default_headers(
                [(
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {TOKEN}").parse().expect("valid header"),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .expect("HTTP client can be built");

        Self {
            base_url: format!("http://{address}"),
            client,
            data_dir,
            devbox_ids: Mutex::new(Vec::new()),
            stop: Some(stop_sender),
            finished: Some(finished),
            _owned_dir: None,
        }
    }

    /// Shuts the server down gracefully and checks that it left no mount under its data
    /// dir and no cgroup of any devbox it created.
    ///
    /// Waits on a blocking thread so this test's runtime keeps driving its HTTP
    /// connections, which an HTTP/2 graceful shutdown needs.
    pub async fn stop(&mut self) {
        let result = self.end(Stop::Graceful).await;
        result.expect("server ran and shut down without error");

        let mounts = mounts_under(&self.data_dir);
        assert!(mounts.is_empty(), "mounts left after shutdown: {mounts:?}");
        for id in self.devbox_ids() {
            let groups = devbox_cgroups(&id);
            assert!(groups.is_empty(), "cgroups left after shutdown: {groups:?}");
        }
    }

    /// Ends the server as a crash would: processes, mounts and cgroups stay behind.
    pub async fn crash(&mut self) {
        let result = self.end(Stop::Crash).await;
        result.expect("server ran without error until the crash");
    }

    async fn end(&mut self, mode: Stop) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(mode);
        }
        let Some(finished) = self.finished.take() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || finished.recv_timeout(SHUTDOWN_WAIT))
            .await?
            .map_err(|_| anyhow::anyhow!("server thread did not finish within {SHUTDOWN_WAIT:?}"))?
    }

    /// Ids of the devboxes created through this harness.
    pub fn devbox_ids(&self) -> Vec<String> {
        self.devbox_ids.lock().expect("id list lock").clone()
    }

    /// Sends a POST with a JSON body and returns the status and JSON response.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .json(&body)
            .send()
            .await
            .expect("request reaches the server");
        read_json(response).await
    }

    /// Sends a GET and returns the status and JSON response.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("request reaches the server");
        read_json(response).await
    }

    /// Creates a devbox with `body` and waits until it is running; returns its id.
    pub async fn create_running(&self, body: Value) -> String {
        let (status, view) = self
            .post("/v1/devboxes/create_and_await_running", body)
            .await;
        assert_eq!(status, StatusCode::OK, "create failed: {view}");
        let id = view["id"].as_str().expect("devbox has an id").to_owned();
        self.track(&id);
        assert_eq!(view["status"], "running", "devbox did not start: {view}");
        id
    }

    /// Records a devbox id so `stop` can check its cgroup is gone.
    pub fn track(&self, id: &str) {
        self.devbox_ids
            .lock()
            .expect("id list lock")
            .push(id.to_owned());
    }

    /// Runs `command` in devbox `id` and waits for it to complete; returns the view.
    pub async fn exec(&self, id: &str, command: &str) -> Value {
        let (status, mut view) = self
            .post(
                &format!("/v1/devboxes/{id}/execute"),
                json!({ "command": command }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "execute failed: {view}");
        while view["status"] != "completed" {
            let execution_id = view["execution_id"].as_str().expect("execution id");
            let (status, next) = self
                .post(
                    &format!("/v1/devboxes/{id}/executions/{execution_id}/wait_for_status"),
                    json!({ "statuses": ["completed"] }),
                )
                .await;
            assert!(
                status == StatusCode::OK || status == StatusCode::REQUEST_TIMEOUT,
                "wait failed: {next}"
            );
            if status == StatusCode::OK {
                view = next;
            }
        }
        view
    }

    /// Writes `contents` to `path` in devbox `id`, asserting success.
    pub async fn write_file(&self, id: &str, path: &str, contents: &str) {
        let (status, view) = self
            .post(
                &format!("/v1/devboxes/{id}/write_file_contents"),
                json!({ "file_path": path, "contents": contents }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "write of {path} failed: {view}");
    }

    /// Reads `path` in devbox `id`; returns the status and the body as text.
    pub async fn read_file(&self, id: &str, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .post(format!(
                "{}/v1/devboxes/{id}/read_file_contents",
                self.base_url
            ))
            .json(&json!({ "file_path": path }))
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        (status, response.text().await.expect("body is text"))
    }

    /// Takes a snapshot synchronously and returns its view.
    pub async fn snapshot(&self, id: &str, body: Value) -> Value {
        let (status, view) = self
            .post(&format!("/v1/devboxes/{id}/snapshot_disk"), body)
            .await;
        assert_eq!(status, StatusCode::OK, "snapshot failed: {view}");
        view
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let Some(finished) = self.finished.take() else {
            return;
        };
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Graceful);
        }
        match finished.recv_timeout(SHUTDOWN_WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("test server failed: {error:#}"),
            Err(_) => eprintln!("test server did not shut down within {SHUTDOWN_WAIT:?}"),
        }
        force_cleanup(&self.data_dir, &self.devbox_ids());
    }
}

fn serve(
    listener: std::net::TcpListener,
    config: Config,
    stop: oneshot::Receiver<Stop>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (graceful, graceful_signal) = oneshot::channel::<()>();
        let server = launch_with_listener(listener, config, async move {
            let _ = graceful_signal.await;
        });
        tokio::pin!(server);

        tokio::select! {
            result = &mut server => result,
            mode = stop => match mode {
                Ok(Stop::Crash) => {
                    // Dropping the sender would resolve the shutdown signal, which axum
                    // awaits in a task of its own, and so start a graceful shutdown while
                    // the runtime is torn down. A crash runs no shutdown code.
                    std::mem::forget(graceful);
                    Ok(())
                }
                Ok(Stop::Graceful) | Err(_) => {
                    let _ = graceful.send(());
                    server.await
                }
            },
        }
    })
}

async fn read_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body can be read");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Returns the mount points at or below `dir`.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let prefix = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo is readable")
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(str::to_owned))
        .filter(|point| point == &prefix || point.starts_with(&format!("{prefix}/")))
        .collect()
}

/// Returns the freezer cgroup directories named after devbox `id`.
pub fn devbox_cgroups(id: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup/freezer") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(id))
        .filter(|path| path.exists())
        .collect()
}

/// Kills the processes of the given devboxes' cgroups and lazily unmounts everything
/// under `data_dir`, for a server that did not shut down cleanly.
fn force_cleanup(data_dir: &Path, devbox_ids: &[String]) {
    for id in devbox_ids {
        for group in devbox_cgroups(id) {
            // Execution groups are children of the devbox's group and are removed first.
            let mut groups: Vec<PathBuf> = std::fs::read_dir(&group)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_dir())
                .collect();
            groups.push(group.clone());

            for member in &groups {
                let procs =
                    std::fs::read_to_string(member.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines() {
                    let _ = std::process::Command::new("kill")
                        .args(["-9", pid])
                        .status();
                }
            }
            let _ = std::fs::write(group.join("freezer.state"), "THAWED");
            std::thread::sleep(Duration::from_millis(100));
            for member in &groups {
                let _ = std::fs::remove_dir(member);
            }
        }
    }

    let mut mounts = mounts_under(data_dir);
    mounts.sort_by_key(|point| std::cmp::Reverse(point.len()));
    for point in mounts {
        eprintln!("lazily unmounting {point} left by a test server");
        let _ = std::process::Command::new("umount")
            .args(["-l", &point])
            .status();
    }
}
