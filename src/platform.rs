//! The host services the client core depends on: sending HTTP requests, timers, a clock and
//! random bytes. The wasm build implements it over `fetch` and `setTimeout`; tests use a fake.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

/// HTTP method of a request. The Runloop API uses only these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: reads, never retried with a body.
    Get,
    /// `POST`: creates, updates, deletes and long polls in the Runloop API.
    Post,
}

impl Method {
    /// Returns the method name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One HTTP request, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL, query string included.
    pub url: String,
    /// Header names in lower case. The client sends each name once.
    pub headers: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<String>,
    /// Time allowed for the whole exchange, reading the body included, in milliseconds.
    pub timeout_ms: u64,
}

impl HttpRequest {
    /// Returns the value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// One HTTP response with its body read as text.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The whole body, decoded as UTF-8 by the host.
    pub body: String,
}

impl HttpResponse {
    /// Returns the value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Failure of a request that ended without a response.
#[derive(Debug)]
pub enum TransportError {
    /// The request failed before a response arrived: DNS, refused connection, TLS, CORS, reset.
    Network {
        /// Description of the failure, from the host.
        message: String,
        /// The host's error value.
        cause: Option<ErrorCause>,
    },
    /// The request's `timeout_ms` elapsed first.
    Timeout,
    /// The caller's abort signal fired.
    Aborted,
}

/// The host's own error value behind a failure; in the wasm build, the JS error that `fetch`
/// rejected with.
#[derive(Clone)]
pub struct ErrorCause(Rc<dyn Any>);

impl ErrorCause {
    /// Wraps a host error value.
    pub fn new<T: Any>(value: T) -> Self {
        Self(Rc::new(value))
    }

    /// Returns the wrapped value when it has type `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorCause(..)")
    }
}

/// Host services used by [`Client`](crate::Client).
///
/// The futures need not be `Send`: the wasm build runs on one thread.
pub trait Platform {
    /// Cancellation token passed along with a call (an `AbortSignal` in the wasm build).
    type Signal: Clone;

    /// Sends one request and reads the whole response body. Fails with
    /// [`TransportError::Aborted`] when `signal` fires and with [`TransportError::Timeout`]
    /// when `request.timeout_ms` elapses.
    fn send(
        &self,
        request: HttpRequest,
        signal: Option<&Self::Signal>,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>>;

    /// Waits `ms` milliseconds, or fails with [`TransportError::Aborted`] as soon as `signal`
    /// fires.
    fn sleep(
        &self,
        ms: u64,
        signal: Option<&Self::Signal>,
    ) -> impl Future<Output = Result<(), TransportError>>;

    /// Returns whether `signal` has already fired.
    fn is_aborted(&self, signal: &Self::Signal) -> bool;

    /// Wall-clock time in milliseconds since the Unix epoch.
    fn now_ms(&self) -> f64;

    /// Fills `buffer` with random bytes. They seed request ids and retry jitter, not secrets.
    fn fill_random(&self, buffer: &mut [u8]);

    /// Returns a random number in `[0, 1)`.
    fn random_unit(&self) -> f64 {
        let mut bytes = [0u8; 8];
        self.fill_random(&mut bytes);
        // 53 random bits give every representable f64 step in [0, 1).
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }
}
