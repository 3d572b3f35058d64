//! The rule for using an API key from a browser page.
//!
//! A key in page code can be read by anyone who loads the page, so the SDK refuses to run in
//! a browser unless the caller opts in, or the key cannot leave the user's machine or site:
//! the base URL is a loopback address, or a path on the page's own origin (a proxy that
//! adds the real key).

/// Returns whether a page at `page_origin` (such as `https://app.example`, `None` when
/// unknown) may send a key to `base_url` without an explicit opt-in.
pub fn key_allowed_without_opt_in(base_url: &str, page_origin: Option<&str>) -> bool {
    let base_url = base_url.trim();
    if base_url.starts_with('/') && !base_url.starts_with("//") {
        return true;
    }
    if let (Some(base_origin), Some(page_origin)) = (origin(base_url), page_origin) {
        if base_origin.eq_ignore_ascii_case(page_origin.trim_end_matches('/')) {
            return true;
        }
    }
    host(base_url).is_some_and(|host| {
        let host = host.to_ascii_lowercase();
        host == "localhost"
            || host.ends_with(".localhost")
            || host == "[::1]"
            || is_loopback_v4(&host)
    })
}

/// Returns `scheme://host[:port]` of an absolute URL.
fn origin(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |end| authority_start + end);
    Some(&url[..authority_end])
}

/// Returns the host of an absolute URL, without user info and port; IPv6 hosts keep their
/// brackets.
fn host(url: &str) -> Option<&str> {
    let origin = origin(url)?;
    let authority = &origin[origin.find("://")? + 3..];
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        return Some(&authority[..=end]);
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// Returns whether `host` is an IPv4 address in 127.0.0.0/8.
fn is_loopback_v4(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4 && parts[0] == "127" && parts.iter().all(|part| part.parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::key_allowed_without_opt_in as allowed;

    #[test]
    fn loopback_hosts_are_allowed() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.5.0.1",
            "http://localhost:3000/api",
            "http://LOCALHOST",
            "http://dev.localhost",
            "http://[::1]:9000/",
            "http://user:pass@127.0.0.1:1/x",
        ] {
            assert!(allowed(url, None), "{url}");
        }
    }

    #[test]
    fn remote_hosts_are_rejected() {
        for url in [
            "https://api.runloop.ai",
            "http://127.0.0.1.example.com",
            "http://localhost.example.com",
            "http://[::2]",
            "//api.runloop.ai/v1",
            "https://evil.example/127.0.0.1",
        ] {
            assert!(!allowed(url, Some("https://app.example")), "{url}");
        }
    }

    #[test]
    fn same_origin_paths_are_allowed() {
        assert!(allowed("/runloop", None));
        assert!(allowed(
            "https://app.example/runloop",
            Some("https://app.example")
        ));
        assert!(allowed("https://APP.example", Some("https://app.example/")));
        assert!(!allowed(
            "https://app.example:8443/x",
            Some("https://app.example")
        ));
    }
}
