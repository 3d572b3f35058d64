//! An in-memory Runloop API on a virtual clock, for the helpers that send requests
//! concurrently (fan-out, fork, checkpoint, prune).
//!
//! Unlike the scripted [`FakePlatform`](super::fake::FakePlatform), it responds by route, so
//! the order in which concurrent tasks send requests does not matter. Request latencies,
//! devbox boots, captures and sleeps are timers; [`run`] polls the future under test and,
//! whenever it cannot progress, moves the clock to the next timer. Nothing sleeps for real.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use serde_json::{json, Value};

use crate::client::{Client, ClientConfig};
use crate::platform::{
    HttpRequest, HttpResponse, Platform, PlatformResponse, RequestBody, TransportError,
};

/// Virtual time after which [`run`] gives up: a test that gets there has hung.
const MAX_VIRTUAL_MS: f64 = 30.0 * 86_400_000.0;

/// An abort signal whose `abort` wakes every sleep waiting on it.
#[derive(Clone, Default)]
pub struct ApiSignal(Rc<SignalState>);

#[derive(Default)]
pub struct SignalState {
    aborted: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl ApiSignal {
    pub fn abort(&self) {
        self.0.aborted.set(true);
        for waker in self.0.wakers.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    pub fn aborted(&self) -> bool {
        self.0.aborted.get()
    }
}

/// A devbox of the fake API.
#[derive(Debug, Clone)]
pub struct FakeDevbox {
    pub id: String,
    pub created_ms: f64,
    pub running_at_ms: f64,
    pub ended_ms: Option<f64>,
    pub failed: bool,
    pub name: Option<String>,
    pub metadata: Value,
    pub snapshot_id: Option<String>,
}

impl FakeDevbox {
    fn status(&self, now: f64) -> &'static str {
        match (self.ended_ms, self.failed) {
            (Some(_), true) => "failure",
            (Some(_), false) => "shutdown",
            (None, _) if now >= self.running_at_ms => "running",
            (None, _) => "provisioning",
        }
    }

    fn view(&self, now: f64) -> Value {
        json!({
            "id": self.id,
            "status": self.status(now),
            "create_time_ms": self.created_ms as i64,
            "end_time_ms": self.ended_ms.map(|ms| ms as i64),
            "name": self.name,
            "metadata": self.metadata,
            "snapshot_id": self.snapshot_id,
        })
    }
}

/// A snapshot of the fake API.
#[derive(Debug, Clone)]
pub struct FakeSnapshot {
    pub id: String,
    pub created_ms: f64,
    /// When the capture completes; `None` keeps it in progress.
    pub complete_at_ms: Option<f64>,
    pub failed: bool,
    pub deleted: bool,
    pub source_devbox_id: String,
    pub metadata: Value,
}

impl FakeSnapshot {
    fn status(&self, now: f64) -> &'static str {
        if self.deleted {
            return "deleted";
        }
        match self.complete_at_ms {
            Some(at) if now >= at && self.failed => "error",
            Some(at) if now >= at => "complete",
            _ => "in_progress",
        }
    }

    fn view(&self) -> Value {
        json!({
            "id": self.id,
            "create_time_ms": self.created_ms as i64,
            "metadata": self.metadata,
            "source_devbox_id": self.source_devbox_id,
            "name": null,
            "commit_message": null,
            "size_bytes": null,
            "source_blueprint_id": null,
        })
    }
}

/// A response the next matching request gets instead of the normal one.
struct Injected {
    method: &'static str,
    path_contains: String,
    status: u16,
}

/// The fake API: state, clock, timers and what the tests inspect.
pub struct FakeApi {
    now_ms: Cell<f64>,
    timers: RefCell<Vec<(f64, Waker)>>,
    next_id: Cell<u32>,
    pub devboxes: RefCell<Vec<FakeDevbox>>,
    pub snapshots: RefCell<Vec<FakeSnapshot>>,
    /// `METHOD /path?query` of every request, in the order they arrived.
    pub requests: RefCell<Vec<String>>,
    pub latency_ms: Cell<f64>,
    pub boot_ms: Cell<f64>,
    pub capture_ms: Cell<f64>,
    /// Devboxes created from a snapshot with this id fail to boot.
    pub failing_snapshot: RefCell<Option<String>>,
    /// Most devboxes alive (created and not ended) at one time.
    pub max_alive: Cell<usize>,
    injected: RefCell<Vec<Injected>>,
    /// Aborts the signal when the `n`-th (from 0) create request arrives.
    pub abort_on_create: RefCell<Option<(usize, ApiSignal)>>,
}

impl FakeApi {
    pub fn new() -> Self {
        Self {
            now_ms: Cell::new(1_000_000.0),
            timers: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
            devboxes: RefCell::new(Vec::new()),
            snapshots: RefCell::new(Vec::new()),
            requests: RefCell::new(Vec::new()),
            latency_ms: Cell::new(10.0),
            boot_ms: Cell::new(500.0),
            capture_ms: Cell::new(300.0),
            failing_snapshot: RefCell::new(None),
            max_alive: Cell::new(0),
            injected: RefCell::new(Vec::new()),
            abort_on_create: RefCell::new(None),
        }
    }

    pub fn now(&self) -> f64 {
        self.now_ms.get()
    }

    /// Makes the next `method` request whose path contains `path_contains` fail with
    /// `status` (sent with `x-should-retry: false`, so the client does not retry it).
    pub fn inject(&self, method: &'static str, path_contains: &str, status: u16) {
        self.injected.borrow_mut().push(Injected {
            method,
            path_contains: path_contains.to_owned(),
            status,
        });
    }

    /// Adds a complete snapshot of devbox `source` created at `created_ms`.
    pub fn add_snapshot(&self, created_ms: f64, source: &str, metadata: Value) -> String {
        let id = self.new_id("snp");
        self.snapshots.borrow_mut().push(FakeSnapshot {
            id: id.clone(),
            created_ms,
            complete_at_ms: Some(created_ms),
            failed: false,
            deleted: false,
            source_devbox_id: source.to_owned(),
            metadata,
        });
        id
    }

    /// Adds a running devbox.
    pub fn add_devbox(&self) -> String {
        let id = self.new_id("dbx");
        let now = self.now();
        self.devboxes.borrow_mut().push(FakeDevbox {
            id: id.clone(),
            created_ms: now,
            running_at_ms: now,
            ended_ms: None,
            failed: false,
            name: Some("original".to_owned()),
            metadata: json!({ "team": "a" }),
            snapshot_id: None,
        });
        id
    }

    pub fn devbox(&self, id: &str) -> FakeDevbox {
        let devboxes = self.devboxes.borrow();
        let found = devboxes.iter().find(|devbox| devbox.id == id);
        found.cloned().unwrap_or_else(|| panic!("no devbox {id}"))
    }

    pub fn snapshot(&self, id: &str) -> FakeSnapshot {
        let snapshots = self.snapshots.borrow();
        let found = snapshots.iter().find(|snapshot| snapshot.id == id);
        found.cloned().unwrap_or_else(|| panic!("no snapshot {id}"))
    }

    /// Ids of the devboxes that have not ended.
    pub fn alive(&self) -> Vec<String> {
        let devboxes = self.devboxes.borrow();
        let alive = devboxes.iter().filter(|devbox| devbox.ended_ms.is_none());
        alive.map(|devbox| devbox.id.clone()).collect()
    }

    /// Number of requests whose description starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        let requests = self.requests.borrow();
        requests
            .iter()
            .filter(|line| line.starts_with(prefix))
            .count()
    }

    fn new_id(&self, prefix: &str) -> String {
        let next = self.next_id.get() + 1;
        self.next_id.set(next);
        format!("{prefix}_{next}")
    }

    /// Waits until the clock reaches `at_ms`, or fails when `signal` fires.
    fn sleep_until<'a>(
        &'a self,
        at_ms: f64,
        signal: Option<&'a ApiSignal>,
    ) -> impl Future<Output = Result<(), TransportError>> + 'a {
        std::future::poll_fn(move |context| {
            if let Some(signal) = signal {
                if signal.aborted() {
                    return Poll::Ready(Err(TransportError::Aborted));
                }
                signal.0.wakers.borrow_mut().push(context.waker().clone());
            }
            if self.now() >= at_ms {
                return Poll::Ready(Ok(()));
            }
            self.timers
                .borrow_mut()
                .push((at_ms, context.waker().clone()));
            Poll::Pending
        })
    }

    /// Moves the clock to the earliest timer and wakes every timer due. Returns false when
    /// there is no timer.
    fn advance(&self) -> bool {
        let mut timers = self.timers.borrow_mut();
        let Some(next) = timers.iter().map(|(at, _)| *at).reduce(f64::min) else {
            return false;
        };
        if next > self.now() {
            self.now_ms.set(next);
        }
        let now = self.now();
        let (due, waiting): (Vec<_>, Vec<_>) = timers.drain(..).partition(|(at, _)| *at <= now);
        *timers = waiting;
        drop(timers);
        for (_, waker) in due {
            waker.wake();
        }
        true
    }

    async fn handle(
        &self,
        method: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        body: Value,
        signal: Option<&ApiSignal>,
    ) -> Result<(u16, Value), TransportError> {
        let parts: Vec<&str> = path.trim_start_matches("/v1/devboxes").split('/').collect();
        let not_found = |what: &str| Ok((404, json!({ "message": format!("{what} not found") })));
        match (method, parts.as_slice()) {
            ("POST", [""]) => Ok(self.create(&body)),
            ("POST", ["", "create_and_await_running"]) => {
                let (status, view) = self.create(&body);
                if status != 200 {
                    return Ok((status, view));
                }
                let id = view["id"].as_str().unwrap_or_default().to_owned();
                let running_at = self.devbox(&id).running_at_ms;
                self.sleep_until(running_at, signal).await?;
                Ok((200, self.devbox(&id).view(self.now())))
            }
            ("GET", ["", "disk_snapshots"]) => Ok((200, self.list_snapshots(query))),
            ("GET", ["", "disk_snapshots", id, "status"]) => {
                let Some(snapshot) = self.find_snapshot(id) else {
                    return not_found(id);
                };
                let status = snapshot.status(self.now());
                let view = (status == "complete").then(|| snapshot.view());
                let message = (status == "error").then_some("capture failed");
                Ok((
                    200,
                    json!({ "status": status, "snapshot": view, "error_message": message }),
                ))
            }
            ("POST", ["", "disk_snapshots", id, "delete"]) => Ok(self.delete_snapshot(id)),
            ("GET", ["", id]) => match self.find_devbox(id) {
                Some(devbox) => Ok((200, devbox.view(self.now()))),
                None => not_found(id),
            },
            ("POST", ["", id, "wait_for_status"]) => {
                let Some(devbox) = self.find_devbox(id) else {
                    return not_found(id);
                };
                let hold_ms = body["timeout_seconds"].as_f64().unwrap_or(30.0) * 1000.0;
                let deadline = self.now() + hold_ms;
                let ready = devbox.ended_ms.is_some() || devbox.running_at_ms <= deadline;
                let at = if ready {
                    devbox.running_at_ms.max(self.now())
                } else {
                    deadline
                };
                self.sleep_until(at, signal).await?;
                if !ready {
                    return Ok((408, json!({ "message": "still provisioning" })));
                }
                Ok((200, self.devbox(id).view(self.now())))
            }
            ("POST", ["", id, "shutdown"]) => {
                let now = self.now();
                let mut devboxes = self.devboxes.borrow_mut();
                let Some(devbox) = devboxes.iter_mut().find(|devbox| devbox.id == *id) else {
                    return not_found(id);
                };
                devbox.ended_ms.get_or_insert(now);
                Ok((200, devbox.view(now)))
            }
            ("POST", ["", id, "snapshot_disk_async"]) => {
                if self.find_devbox(id).is_none() {
                    return not_found(id);
                }
                let snapshot = FakeSnapshot {
                    id: self.new_id("snp"),
                    created_ms: self.now(),
                    complete_at_ms: Some(self.now() + self.capture_ms.get()),
                    failed: false,
                    deleted: false,
                    source_devbox_id: (*id).to_owned(),
                    metadata: body.get("metadata").cloned().unwrap_or(json!({})),
                };
                let view = snapshot.view();
                self.snapshots.borrow_mut().push(snapshot);
                Ok((200, view))
            }
            _ => Ok((
                404,
                json!({ "message": format!("no route {method} {path}") }),
            )),
        }
    }

    fn create(&self, body: &Value) -> (u16, Value) {
        let snapshot_id = body["snapshot_id"].as_str().map(str::to_owned);
        if let Some(snapshot_id) = &snapshot_id {
            match self.find_snapshot(snapshot_id) {
                Some(snapshot) if snapshot.status(self.now()) == "complete" => {}
                Some(_) => return (409, json!({ "message": "snapshot not complete" })),
                None => return (404, json!({ "message": "snapshot not found" })),
            }
        }
        let failing = snapshot_id.is_some() && *self.failing_snapshot.borrow() == snapshot_id;
        let now = self.now();
        let devbox = FakeDevbox {
            id: self.new_id("dbx"),
            created_ms: now,
            running_at_ms: now + self.boot_ms.get(),
            ended_ms: failing.then_some(now),
            failed: failing,
            name: body["name"].as_str().map(str::to_owned),
            metadata: body.get("metadata").cloned().unwrap_or(json!({})),
            snapshot_id,
        };
        let view = devbox.view(now);
        self.devboxes.borrow_mut().push(devbox);
        let alive = self.alive().len();
        self.max_alive.set(self.max_alive.get().max(alive));
        (200, view)
    }

    fn list_snapshots(&self, query: &BTreeMap<String, String>) -> Value {
        let snapshots = self.snapshots.borrow();
        let mut matches: Vec<&FakeSnapshot> = snapshots
            .iter()
            .filter(|snapshot| !snapshot.deleted)
            .filter(|snapshot| {
                query
                    .get("devbox_id")
                    .is_none_or(|id| snapshot.source_devbox_id == *id)
            })
            .filter(|snapshot| {
                query.iter().all(|(key, value)| {
                    let Some(name) = key.strip_prefix("metadata[") else {
                        return true;
                    };
                    let name = name.trim_end_matches(']');
                    snapshot.metadata[name].as_str() == Some(value.as_str())
                })
            })
            .collect();
        matches.reverse();

        let start = match query.get("starting_after") {
            Some(after) => matches
                .iter()
                .position(|snapshot| snapshot.id == *after)
                .map_or(matches.len(), |position| position + 1),
            None => 0,
        };
        let limit: usize = query
            .get("limit")
            .and_then(|limit| limit.parse().ok())
            .unwrap_or(20);
        let page: Vec<Value> = matches
            .iter()
            .skip(start)
            .take(limit)
            .map(|s| s.view())
            .collect();
        let has_more = start + page.len() < matches.len();
        json!({ "snapshots": page, "has_more": has_more, "total_count": matches.len() })
    }

    fn delete_snapshot(&self, id: &str) -> (u16, Value) {
        let now = self.now();
        let mut snapshots = self.snapshots.borrow_mut();
        let Some(snapshot) = snapshots.iter_mut().find(|s| s.id == id && !s.deleted) else {
            return (404, json!({ "message": format!("{id} not found") }));
        };
        if snapshot.status(now) == "in_progress" {
            return (409, json!({ "message": "capture in progress" }));
        }
        snapshot.deleted = true;
        (200, snapshot.view())
    }

    fn find_devbox(&self, id: &str) -> Option<FakeDevbox> {
        self.devboxes.borrow().iter().find(|d| d.id == id).cloned()
    }

    fn find_snapshot(&self, id: &str) -> Option<FakeSnapshot> {
        let snapshots = self.snapshots.borrow();
        snapshots.iter().find(|s| s.id == id && !s.deleted).cloned()
    }

    fn take_injected(&self, method: &str, path: &str) -> Option<u16> {
        let mut injected = self.injected.borrow_mut();
        let position = injected
            .iter()
            .position(|item| item.method == method && path.contains(&item.path_contains))?;
        Some(injected.remove(position).status)
    }
}

impl Platform for FakeApi {
    type Signal = ApiSignal;
    type Payload = Vec<u8>;
    type Reader = ();

    async fn send(
        &self,
        request: HttpRequest<Vec<u8>>,
        signal: Option<&ApiSignal>,
    ) -> Result<PlatformResponse<Self>, TransportError> {
        let method = request.method.as_str();
        let target = request.url.trim_start_matches("http://api.test");
        let (path, query_text) = target.split_once('?').unwrap_or((target, ""));
        let query: BTreeMap<String, String> = query_text
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        let body = match &request.body {
            Some(RequestBody::Json(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        self.requests
            .borrow_mut()
            .push(format!("{method} {target}"));

        if method == "POST" && path == "/v1/devboxes" {
            let creates = self.count("POST /v1/devboxes") - self.count("POST /v1/devboxes/");
            if let Some((nth, signal)) = &*self.abort_on_create.borrow() {
                if creates == nth + 1 {
                    signal.abort();
                }
            }
        }

        self.sleep_until(self.now() + self.latency_ms.get(), signal)
            .await?;
        let (status, body) = match self.take_injected(method, path) {
            Some(status) => (status, json!({ "message": "injected failure" })),
            None => self.handle(method, path, &query, body, signal).await?,
        };
        let headers = vec![("x-should-retry".to_owned(), "false".to_owned())];
        Ok(HttpResponse::text(status, headers, body.to_string()))
    }

    async fn read_chunk(
        &self,
        _reader: &mut (),
        _idle_timeout_ms: u64,
        _signal: Option<&ApiSignal>,
    ) -> Result<Option<String>, TransportError> {
        Ok(None)
    }

    async fn sleep(&self, ms: u64, signal: Option<&ApiSignal>) -> Result<(), TransportError> {
        self.sleep_until(self.now() + ms as f64, signal).await
    }

    fn is_aborted(&self, signal: &ApiSignal) -> bool {
        signal.aborted()
    }

    fn now_ms(&self) -> f64 {
        self.now()
    }

    fn fill_random(&self, buffer: &mut [u8]) {
        buffer.fill(0);
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        });
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                index += 1;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Returns a client of a new fake API.
pub fn api_client() -> Client<FakeApi> {
    let mut config = ClientConfig::new("token");
    config.base_url = "http://api.test".to_owned();
    Client::new(config, FakeApi::new())
}

/// Sets a flag when woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `future` to completion on the fake API's virtual clock.
pub fn run<F: Future>(api: &FakeApi, future: F) -> F::Output {
    let mut future: Pin<&mut F> = pin!(future);
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut context = Context::from_waker(&waker);

    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        assert!(
            api.advance(),
            "the future waits on nothing the fake API controls"
        );
        assert!(
            api.now() < MAX_VIRTUAL_MS,
            "the future did not finish within 30 virtual days"
        );
    }
}

/// A task that takes `ms` of virtual time, then returns `value`.
pub async fn work<T>(api: &FakeApi, ms: f64, value: T) -> T {
    let _ = api.sleep_until(api.now() + ms, None).await;
    value
}
