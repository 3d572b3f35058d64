//! Static pages of the in-browser playground, served without auth when `--playground` names
//! the package directory. The page reads the token from its form, so nothing secret is served.

use std::path::Path;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

use super::AppState;

/// Folders of the package directory served as they are: the page, the JS entry points and
/// the wasm builds they import.
const SERVED_FOLDERS: [&str; 3] = ["playground", "js", "pkg"];

/// Builds the routes `/playground/`, `/js/` and `/pkg/` over `package_dir`, and a redirect
/// from `/` to the page.
pub fn routes(package_dir: &Path) -> Router<AppState> {
    let mut router = Router::new().route("/", get(|| async { Redirect::to("/playground/") }));
    for folder in SERVED_FOLDERS {
        router = router.nest_service(
            &format!("/{folder}"),
            ServeDir::new(package_dir.join(folder)),
        );
    }
    router
}
