//! File endpoints. Read and write move UTF-8 text in JSON; upload and download move bytes.
//! Every file request is long: its attempts get
//! [`LONG_REQUEST_TIMEOUT_MS`](crate::client::LONG_REQUEST_TIMEOUT_MS) unless the call sets
//! a timeout.

use runloop_types::{
    DevboxExecutionDetailView, DownloadFileParams, ReadFileParams, WriteFileParams,
};

use super::devbox_path;
use crate::client::{ApiRequest, Client, RequestOptions};
use crate::error::{Error, Result};
use crate::platform::{Platform, RequestBody, ResponseMode};

/// `POST /v1/devboxes/{id}/read_file_contents` with `Accept: text/plain`. `mode` selects
/// whether the text is read into the core ([`ResponseMode::Text`]) or kept by the host
/// ([`ResponseMode::HostText`]).
pub fn read_file_contents<B>(
    devbox_id: &str,
    params: &ReadFileParams,
    mode: ResponseMode,
) -> Result<ApiRequest<B>> {
    Ok(
        ApiRequest::post(devbox_path(devbox_id, "/read_file_contents"))
            .json(params)?
            .accept("text/plain", mode)
            .long(),
    )
}

/// `POST /v1/devboxes/{id}/write_file_contents` with a JSON body built by the core.
pub fn write_file_contents<B>(devbox_id: &str, params: &WriteFileParams) -> Result<ApiRequest<B>> {
    Ok(
        ApiRequest::post(devbox_path(devbox_id, "/write_file_contents"))
            .json(params)?
            .long(),
    )
}

/// `POST /v1/devboxes/{id}/write_file_contents` with the JSON body
/// `{"file_path": …, "contents": …}`, whose contents are a string that the host keeps and
/// encodes.
pub fn write_file_contents_host<B>(
    devbox_id: &str,
    file_path: &str,
    contents: B,
) -> Result<ApiRequest<B>> {
    let path = serde_json::to_string(file_path).map_err(|error| {
        Error::InvalidArgument(format!(
            "Invalid params.file_path: cannot encode it: {error}"
        ))
    })?;
    let body = RequestBody::JsonWithHostString {
        head: format!(r#"{{"file_path":{path},"contents":"#),
        value: contents,
        tail: "}".to_owned(),
    };
    Ok(
        ApiRequest::post(devbox_path(devbox_id, "/write_file_contents"))
            .body(body)
            .long(),
    )
}

/// `POST /v1/devboxes/{id}/upload_file`: a multipart body with the field `path` and the part
/// `file`.
pub fn upload_file<B>(devbox_id: &str, path: &str, file: B) -> ApiRequest<B> {
    ApiRequest::post(devbox_path(devbox_id, "/upload_file"))
        .body(RequestBody::Upload {
            path: path.to_owned(),
            file,
        })
        .long()
}

/// `POST /v1/devboxes/{id}/download_file` with `Accept: application/octet-stream`; `mode` is
/// [`ResponseMode::Bytes`] or [`ResponseMode::Blob`].
pub fn download_file<B>(
    devbox_id: &str,
    params: &DownloadFileParams,
    mode: ResponseMode,
) -> Result<ApiRequest<B>> {
    Ok(ApiRequest::post(devbox_path(devbox_id, "/download_file"))
        .json(params)?
        .accept("application/octet-stream", mode)
        .long())
}

/// File endpoints, from [`Client::files`].
#[derive(Debug)]
pub struct Files<'a, P> {
    client: &'a Client<P>,
}

impl<'a, P: Platform> Files<'a, P> {
    pub(crate) fn new(client: &'a Client<P>) -> Self {
        Self { client }
    }

    /// Returns a file as UTF-8 text.
    pub async fn read_file_contents(
        &self,
        devbox_id: &str,
        params: &ReadFileParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<String> {
        let request = read_file_contents(devbox_id, params, ResponseMode::Text)?;
        self.client.send_text(&request, options).await
    }

    /// Replaces a file with UTF-8 text, creating it and its parent directories if needed.
    pub async fn write_file_contents(
        &self,
        devbox_id: &str,
        params: &WriteFileParams,
        options: &RequestOptions<P::Signal>,
    ) -> Result<DevboxExecutionDetailView> {
        let request = write_file_contents(devbox_id, params)?;
        self.client.send_json(&request, options).await
    }

    /// Replaces a file with the bytes of `file`. The response body is returned as text,
    /// since the API does not specify its shape.
    pub async fn upload_file(
        &self,
        devbox_id: &str,
        path: &str,
        file: P::Payload,
        options: &RequestOptions<P::Signal>,
    ) -> Result<String> {
        let request = upload_file(devbox_id, path, file);
        self.client.send_text(&request, options).await
    }

    /// Returns a file's bytes as a host value (`mode` [`ResponseMode::Bytes`] or
    /// [`ResponseMode::Blob`]).
    pub async fn download_file(
        &self,
        devbox_id: &str,
        params: &DownloadFileParams,
        mode: ResponseMode,
        options: &RequestOptions<P::Signal>,
    ) -> Result<P::Payload> {
        let request = download_file(devbox_id, params, mode)?;
        self.client.send_payload(&request, options).await
    }
}
