//! Deep snapshot chains: a devbox from a snapshot of a devbox from a snapshot, many levels
//! deep, keeps every level's changes and restores quickly, with and without squashing.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::TestServer;
use crate::snapshot_support::{
    delete_snapshot, id_of, layer_dirs, lower_layers, run_ok, shut_down, start_configured,
};

/// What one level of a chain leaves behind.
struct Level {
    snapshot_id: String,
    restore_time: Duration,
    mounted_layers: usize,
}

/// Builds a chain of `depth` snapshots on `server`. Level `n` writes `level-n`, rewrites
/// `shared`, and deletes `level-(n-1)`'s marker file, so every level changes, adds and
/// deletes something. After each capture the next devbox is restored from it and checked.
async fn build_chain(server: &TestServer, depth: usize) -> Vec<Level> {
    let mut devbox = server.create_running(json!({})).await;
    let mut levels = Vec::new();
    for level in 1..=depth {
        run_ok(
            server,
            &devbox,
            &format!(
                "cd /home/user && echo {level} > level-{level} && echo {level} > shared && \
                 touch marker-{level} && rm -f marker-{}",
                level - 1
            ),
        )
        .await;
        let snapshot = server.snapshot(&devbox, json!({})).await;

        let started = Instant::now();
        let restored = server
            .create_running(json!({ "snapshot_id": snapshot["id"] }))
            .await;
        let restore_time = started.elapsed();

        let check = run_ok(
            server,
            &restored,
            "cd /home/user && cat level-* | sort -n | tr '\\n' ' ' && cat shared && ls marker-*",
        )
        .await;
        let expected_levels: Vec<String> = (1..=level).map(|n| n.to_string()).collect();
        assert_eq!(
            check,
            format!("{} {level}\nmarker-{level}\n", expected_levels.join(" ")),
            "contents at level {level}"
        );

        levels.push(Level {
            snapshot_id: id_of(&snapshot),
            restore_time,
            mounted_layers: lower_layers(server, &restored).len() - 1,
        });
        shut_down(server, &devbox).await;
        devbox = restored;
    }
    levels
}

#[tokio::test]
async fn deep_chain_mounts_every_layer_and_restores_fast() {
    let mut server = start_configured(|config| config.max_chain_depth = 60);
    let levels = build_chain(&server, 55).await;

    for (index, level) in levels.iter().enumerate() {
        assert_eq!(level.mounted_layers, index + 1, "no squash below the limit");
    }
    for depth in [1, 10, 50, 55] {
        eprintln!(
            "restore (create_and_await_running) at depth {depth}: {:?}",
            levels[depth - 1].restore_time
        );
    }
    let shallow = levels[0].restore_time;
    let deep = levels[49].restore_time;
    assert!(
        deep < shallow * 5 + Duration::from_secs(1),
        "restore at depth 50 took {deep:?}, at depth 1 {shallow:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn chain_past_limit_is_squashed() {
    let mut server = start_configured(|config| config.max_chain_depth = 4);
    let levels = build_chain(&server, 11).await;

    let mounted: Vec<usize> = levels.iter().map(|level| level.mounted_layers).collect();
    assert_eq!(
        mounted,
        [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3],
        "a capture past depth 4 squashes the chain into one layer"
    );

    for level in &levels {
        delete_snapshot(&server, &level.snapshot_id).await;
    }
    let live = server.devbox_ids().pop().expect("last devbox");
    shut_down(&server, &live).await;
    assert!(
        layer_dirs(&server).is_empty(),
        "squashed and replaced layers are all freed: {:?}",
        layer_dirs(&server)
    );
    server.stop().await;
}

#[tokio::test]
async fn default_limit_squashes_fifty_deep_chain() {
    let mut server = TestServer::start();
    let levels = build_chain(&server, 50).await;

    let deepest = levels.iter().map(|level| level.mounted_layers).max();
    assert_eq!(deepest, Some(runloop_local::DEFAULT_MAX_CHAIN_DEPTH));
    assert_eq!(levels[32].mounted_layers, 1, "level 33 is squashed");
    assert_eq!(levels[49].mounted_layers, 18);
    for depth in [1, 10, 50] {
        eprintln!(
            "restore with squashing at depth {depth}: {:?} ({} layers mounted)",
            levels[depth - 1].restore_time,
            levels[depth - 1].mounted_layers
        );
    }
    server.stop().await;
}
