//! The host services the client core depends on: sending HTTP requests, timers, a clock and
//! random bytes. The wasm build implements it over `fetch` and `setTimeout`; tests use a fake.
//!
//! Bodies that users hand over (file contents) and bodies they receive (downloads) stay with
//! the host as opaque [`Platform::Payload`] values, so large transfers never pass through the
//! core's memory.

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

/// Body of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody<B> {
    /// JSON text built by the core.
    Json(String),
    /// JSON text built around one string kept by the host: `head`, then `value` as a JSON
    /// string literal, then `tail`. The host encodes `value` again for every attempt, so it
    /// may stream a large one instead of building the whole body first.
    JsonWithHostString {
        /// JSON text before the string, such as `{"file_path":"a.txt","contents":`.
        head: String,
        /// The string, held by the host.
        value: B,
        /// JSON text after the string, such as `}`.
        tail: String,
    },
    /// `multipart/form-data` with a text field `path` and a file part `file` holding `file`.
    /// The host sets the `Content-Type` with its boundary.
    Upload {
        /// Destination path in the devbox.
        path: String,
        /// File contents, held by the host.
        file: B,
    },
}

/// How the host hands over the body of a 2xx response. Bodies of other statuses are always
/// read as [`ResponseMode::Text`], for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Read the whole body as text into [`ResponseBody::Text`].
    Text,
    /// Keep the whole body as host text in [`ResponseBody::Payload`].
    HostText,
    /// Keep the whole body as host bytes (a `Uint8Array` in the wasm build).
    Bytes,
    /// Keep the whole body as a host `Blob`.
    Blob,
    /// Return once the headers arrive, with a reader for the body in [`ResponseBody::Stream`].
    Stream,
}

/// One HTTP request, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest<B> {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL, query string included.
    pub url: String,
    /// Header names in lower case. The client sends each name once.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<RequestBody<B>>,
    /// Time allowed for the exchange in milliseconds: until the whole body is read, or until
    /// the headers arrive for [`ResponseMode::Stream`].
    pub timeout_ms: u64,
    /// How to hand over a 2xx response's body.
    pub mode: ResponseMode,
}

impl<B> HttpRequest<B> {
    /// Returns the value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// Body of a response, in the form its request's [`ResponseMode`] asked for.
#[derive(Debug)]
pub enum ResponseBody<B, R> {
    /// The whole body as text.
    Text(String),
    /// The whole body, held by the host.
    Payload(B),
    /// A reader for a body that is still arriving.
    Stream(R),
}

/// One HTTP response.
#[derive(Debug)]
pub struct HttpResponse<B, R> {
    /// HTTP status code.
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: ResponseBody<B, R>,
}

impl<B, R> HttpResponse<B, R> {
    /// Returns a response whose body was read as text.
    pub fn text(status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        Self {
            status,
            headers,
            body: ResponseBody::Text(body),
        }
    }

    /// Returns the value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Returns the body text, or `""` when the body was not read as text.
    pub fn body_text(&self) -> &str {
        match &self.body {
            ResponseBody::Text(text) => text,
            _ => "",
        }
    }

    /// Takes the body text, or `""` when the body was not read as text.
    pub fn into_text(self) -> String {
        match self.body {
            ResponseBody::Text(text) => text,
            _ => String::new(),
        }
    }
}

/// The response type of a platform.
pub type PlatformResponse<P> = HttpResponse<<P as Platform>::Payload, <P as Platform>::Reader>;

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

    /// Data held by the host: file contents to send and response bodies handed over
    /// unread (a JS string, `Uint8Array` or `Blob` in the wasm build).
    type Payload: Clone;

    /// Reader of a response body that is still arriving.
    type Reader;

    /// Sends one request. Fails with [`TransportError::Aborted`] when `signal` fires and with
    /// [`TransportError::Timeout`] when `request.timeout_ms` elapses.
    fn send(
        &self,
        request: HttpRequest<Self::Payload>,
        signal: Option<&Self::Signal>,
    ) -> impl Future<Output = Result<PlatformResponse<Self>, TransportError>>;

    /// Reads the next piece of a streamed body as text; `None` once the body has ended.
    /// Fails with [`TransportError::Timeout`] when nothing arrives within `idle_timeout_ms`,
    /// and stops the underlying request on any failure.
    fn read_chunk(
        &self,
        reader: &mut Self::Reader,
        idle_timeout_ms: u64,
        signal: Option<&Self::Signal>,
    ) -> impl Future<Output = Result<Option<String>, TransportError>>;

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
