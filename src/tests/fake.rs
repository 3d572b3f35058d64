//! A scripted [`Platform`] with a virtual clock, and a tiny executor for its futures.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::client::{Client, ClientConfig};
use crate::platform::{
    HttpRequest, HttpResponse, Platform, PlatformResponse, RequestBody, ResponseBody, ResponseMode,
    TransportError,
};

/// A scripted response: a body read as text, or for a stream the pieces a reader returns.
struct Scripted {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    chunks: Option<VecDeque<Result<String, TransportError>>>,
}

/// Abort flag standing in for an `AbortSignal`.
pub type FakeSignal = Rc<Cell<bool>>;

/// Returns scripted responses in order, records the requests, and moves a virtual clock: each request takes
/// `latency_ms` (or its whole timeout when scripted to time out) and each sleep takes its
/// length.
pub struct FakePlatform {
    outcomes: RefCell<VecDeque<Result<Scripted, TransportError>>>,
    pub requests: RefCell<Vec<HttpRequest<Vec<u8>>>>,
    pub sleeps: RefCell<Vec<u64>>,
    pub now_ms: Cell<f64>,
    pub latency_ms: Cell<f64>,
    /// Byte used for every random byte; 0 gives no jitter, 0xff the full 25 %.
    pub random_byte: Cell<u8>,
    /// Aborts this signal when the request with this index (0-based) is sent.
    pub abort_on_request: RefCell<Option<(usize, FakeSignal)>>,
}

impl FakePlatform {
    pub fn new() -> Self {
        Self {
            outcomes: RefCell::new(VecDeque::new()),
            requests: RefCell::new(Vec::new()),
            sleeps: RefCell::new(Vec::new()),
            now_ms: Cell::new(1_700_000_000_000.0),
            latency_ms: Cell::new(0.0),
            random_byte: Cell::new(0),
            abort_on_request: RefCell::new(None),
        }
    }

    /// Queues a response with a JSON body.
    pub fn push_json(&self, status: u16, body: serde_json::Value) {
        self.push_response(status, &[], &body.to_string());
    }

    /// Queues a response with headers and a raw body.
    pub fn push_response(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.outcomes.borrow_mut().push_back(Ok(Scripted {
            status,
            headers,
            body: body.to_owned(),
            chunks: None,
        }));
    }

    /// Queues a 200 stream response whose reader returns `pieces` in order, then ends.
    pub fn push_stream(&self, pieces: Vec<Result<String, TransportError>>) {
        self.outcomes.borrow_mut().push_back(Ok(Scripted {
            status: 200,
            headers: Vec::new(),
            body: String::new(),
            chunks: Some(pieces.into()),
        }));
    }

    /// Queues a transport failure.
    pub fn push_failure(&self, error: TransportError) {
        self.outcomes.borrow_mut().push_back(Err(error));
    }

    /// Returns the recorded request with this index.
    pub fn request(&self, index: usize) -> HttpRequest<Vec<u8>> {
        self.requests.borrow()[index].clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.borrow().len()
    }

    /// Returns the JSON body of the recorded request with this index.
    pub fn request_body(&self, index: usize) -> serde_json::Value {
        match self.request(index).body {
            Some(RequestBody::Json(text)) => serde_json::from_str(&text).expect("body is JSON"),
            other => panic!("request {index} has no JSON body: {other:?}"),
        }
    }

    pub fn unused_outcomes(&self) -> usize {
        self.outcomes.borrow().len()
    }
}

impl Platform for FakePlatform {
    type Signal = FakeSignal;
    type Payload = Vec<u8>;
    type Reader = VecDeque<Result<String, TransportError>>;

    async fn send(
        &self,
        request: HttpRequest<Vec<u8>>,
        signal: Option<&FakeSignal>,
    ) -> Result<PlatformResponse<Self>, TransportError> {
        let index = self.request_count();
        let description = format!("{} {}", request.method.as_str(), request.url);
        let timeout_ms = request.timeout_ms as f64;
        let mode = request.mode;
        self.requests.borrow_mut().push(request);

        if let Some((abort_index, abort_signal)) = &*self.abort_on_request.borrow() {
            if *abort_index == index {
                abort_signal.set(true);
            }
        }
        if signal.is_some_and(|signal| signal.get()) {
            return Err(TransportError::Aborted);
        }

        let outcome =
            self.outcomes.borrow_mut().pop_front().unwrap_or_else(|| {
                panic!("no response scripted for request {index}: {description}")
            });
        let elapsed = match outcome {
            Err(TransportError::Timeout) => timeout_ms,
            _ => self.latency_ms.get().min(timeout_ms),
        };
        self.now_ms.set(self.now_ms.get() + elapsed);

        let scripted = outcome?;
        let success = (200..300).contains(&scripted.status);
        let body = match (mode, scripted.chunks) {
            (_, _) if !success => ResponseBody::Text(scripted.body),
            (ResponseMode::Stream, Some(chunks)) => ResponseBody::Stream(chunks),
            (ResponseMode::Bytes | ResponseMode::Blob | ResponseMode::HostText, _) => {
                ResponseBody::Payload(scripted.body.into_bytes())
            }
            (_, _) => ResponseBody::Text(scripted.body),
        };
        Ok(HttpResponse {
            status: scripted.status,
            headers: scripted.headers,
            body,
        })
    }

    async fn read_chunk(
        &self,
        reader: &mut VecDeque<Result<String, TransportError>>,
        idle_timeout_ms: u64,
        signal: Option<&FakeSignal>,
    ) -> Result<Option<String>, TransportError> {
        if signal.is_some_and(|signal| signal.get()) {
            return Err(TransportError::Aborted);
        }
        match reader.pop_front() {
            Some(Err(TransportError::Timeout)) => {
                self.now_ms.set(self.now_ms.get() + idle_timeout_ms as f64);
                Err(TransportError::Timeout)
            }
            Some(piece) => piece.map(Some),
            None => Ok(None),
        }
    }

    async fn sleep(&self, ms: u64, signal: Option<&FakeSignal>) -> Result<(), TransportError> {
        if signal.is_some_and(|signal| signal.get()) {
            return Err(TransportError::Aborted);
        }
        self.sleeps.borrow_mut().push(ms);
        self.now_ms.set(self.now_ms.get() + ms as f64);
        Ok(())
    }

    fn is_aborted(&self, signal: &FakeSignal) -> bool {
        signal.get()
    }

    fn now_ms(&self) -> f64 {
        self.now_ms.get()
    }

    fn fill_random(&self, buffer: &mut [u8]) {
        buffer.fill(self.random_byte.get());
    }
}

/// Returns a client for `http://api.test` with token `token` and default settings.
pub fn client() -> Client<FakePlatform> {
    client_with(|_| {})
}

/// Returns a client whose default settings `adjust` changed first.
pub fn client_with(adjust: impl FnOnce(&mut ClientConfig)) -> Client<FakePlatform> {
    let mut config = ClientConfig::new("token");
    config.base_url = "http://api.test".to_owned();
    adjust(&mut config);
    Client::new(config, FakePlatform::new())
}

/// Runs a future that never waits on anything outside the fake platform.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
    panic!("future did not finish; the fake platform never returns Pending");
}
