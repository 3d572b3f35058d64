//! Snapshot fidelity: a devbox restored from a snapshot has exactly the files its source
//! had when the capture started, one test per property.
//!
//! Each test runs its setup scripts in a chain of devboxes, one snapshot layer per script,
//! and then adds empty layers until the chain is three deep. The server squashes chains
//! deeper than two, so every property is checked after a plain capture (level 1), through
//! a chain of two layers (level 2) and through a squashed layer (level 3).
//!
//! At each level the source and the restored devbox are compared twice. The first check is
//! a full listing of the paths under test: type, mode, owner, times, size, links, symlink
//! target, device numbers, extended attributes and SHA-256 of contents. The second is the
//! property's own probe, a plain command such as `stat -c` or `sha256sum`, whose output the
//! test also checks by value.

use serde_json::json;

use crate::common::TestServer;
use crate::snapshot_support::{
    lower_layers, run, run_ok, shut_down, start_configured, ConfiguredServer,
};

/// Depth above which the fidelity server squashes chains.
const SQUASH_ABOVE: usize = 2;

/// Lists paths recursively, one line per entry, without changing them: files and
/// directories are opened with `O_NOATIME`, and a symlink's times are put back after
/// `readlink`, which updates its access time. Change times and inode numbers are left out
/// because no copy can keep them; hard links show as `links-to` the first name listed.
/// An argument `flat:PATH` lists `PATH` without its contents.
const LISTING: &str = r#"
import hashlib, os, stat, sys

first_names = {}

def describe(path, recurse):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        print(repr(path), "missing")
        return
    mode = st.st_mode
    parts = [repr(path), oct(mode), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_atime_ns]
    if not stat.S_ISDIR(mode):
        parts += ["size", st.st_size, "nlink", st.st_nlink]
        if st.st_nlink > 1:
            parts += ["links-to", repr(first_names.setdefault(st.st_ino, path))]
    if stat.S_ISLNK(mode):
        parts += ["target", repr(os.readlink(path))]
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        parts += ["device", "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))]
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        value = os.getxattr(path, name, follow_symlinks=False)
        parts += ["xattr", name + "=" + value.hex()]
    if stat.S_ISREG(mode):
        digest = hashlib.sha256()
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOATIME), "rb") as data:
            for block in iter(lambda: data.read(1 << 20), b""):
                digest.update(block)
        parts += ["sha256", digest.hexdigest()]
    print(" ".join(str(part) for part in parts))
    if stat.S_ISDIR(mode) and recurse:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOATIME)
        try:
            names = sorted(os.listdir(fd))
        finally:
            os.close(fd)
        for name in names:
            describe(os.path.join(path, name), True)

for argument in sys.argv[1:]:
    if argument.startswith("flat:"):
        describe(argument[5:], False)
    else:
        describe(argument, True)
"#;

/// A fidelity scenario: setup scripts (one snapshot layer each), the paths to list, and
/// the property's probe command.
struct Scenario<'a> {
    layers: &'a [&'a str],
    paths: &'a [&'a str],
    probe: &'a str,
}

/// Lists `paths` in `devbox_id` with [`LISTING`].
async fn listing(server: &TestServer, devbox_id: &str, paths: &[&str]) -> String {
    let arguments: Vec<String> = paths.iter().map(|path| format!("'{path}'")).collect();
    let command = format!("python3 -B -c '{LISTING}' {}", arguments.join(" "));
    run_ok(server, devbox_id, &command).await
}

/// Runs `scenario` and checks every level as described in the module docs. Returns the
/// probe's output on the source of each level, for the test to check by value.
async fn assert_restores_exactly(scenario: Scenario<'_>) -> Vec<String> {
    let mut server = fidelity_server();
    let mut source = server.create_running(json!({})).await;
    let levels = scenario.layers.len().max(SQUASH_ABOVE + 1);
    let mut probes = Vec::new();

    for level in 1..=levels {
        let script = scenario.layers.get(level - 1).copied().unwrap_or("true");
        run_ok(
            &server,
            &source,
            &format!("set -e; cd /home/user; {script}"),
        )
        .await;
        let probe = run_ok(&server, &source, scenario.probe).await;
        let expected = listing(&server, &source, scenario.paths).await;

        let snapshot = server.snapshot(&source, json!({})).await;
        let after_capture = listing(&server, &source, scenario.paths).await;
        assert_eq!(
            after_capture, expected,
            "level {level}: the capture changed the source"
        );

        let restored = server
            .create_running(json!({ "snapshot_id": snapshot["id"] }))
            .await;
        let mounted = lower_layers(&server, &restored).len() - 1;
        let expected_layers = if level > SQUASH_ABOVE { 1 } else { level };
        assert_eq!(
            mounted, expected_layers,
            "level {level}: snapshot layers mounted by the restored devbox"
        );

        let restored_listing = listing(&server, &restored, scenario.paths).await;
        assert_eq!(
            restored_listing, expected,
            "level {level}: restored listing differs from the source"
        );
        let restored_probe = run_ok(&server, &restored, scenario.probe).await;
        assert_eq!(
            restored_probe, probe,
            "level {level}: restored probe differs from the source"
        );

        shut_down(&server, &source).await;
        probes.push(probe);
        source = restored;
    }

    server.stop().await;
    probes
}

fn fidelity_server() -> ConfiguredServer {
    start_configured(|config| config.max_chain_depth = SQUASH_ABOVE)
}

/// Asserts that every level's probe printed `expected`.
fn assert_probes(probes: &[String], expected: &str) {
    for (level, probe) in probes.iter().enumerate() {
        assert_eq!(probe, expected, "probe output at level {}", level + 1);
    }
}

#[tokio::test]
async fn fidelity_file_contents() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir t; head -c 3000000 /dev/urandom > t/random; : > t/empty; \
             printf 'line\\n' > t/text; printf 'x' > \"t/name with spaces\"; \
             printf 'y' > t/$'\\xff\\xfe'",
            "printf 'changed' > t/text; head -c 5000 /dev/urandom >> t/random",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && sha256sum empty text 'name with spaces' && \
                sha256sum random $'\\xff\\xfe' | wc -l",
    })
    .await;
    for probe in &probes {
        assert!(
            probe.contains(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty"
            ),
            "{probe}"
        );
    }
    assert!(probes[0].contains("  text\n"), "{}", probes[0]);
    assert_ne!(probes[0], probes[1], "the second layer changed text");
}

#[tokio::test]
async fn fidelity_modes() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir t; cd t; echo s > setuid; chmod 4755 setuid; echo g > setgid; \
             chmod 2711 setgid; mkdir sticky; chmod 1777 sticky; mkdir setgid-dir; \
             chmod 2770 setgid-dir; echo n > none; chmod 0000 none; echo a > all; \
             chmod 0777 all",
            "chmod 0640 t/all",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && stat -c '%n %a' setuid setgid sticky setgid-dir none",
    })
    .await;
    assert_probes(
        &probes,
        "setuid 4755\nsetgid 2711\nsticky 1777\nsetgid-dir 2770\nnone 0\n",
    );
}

#[tokio::test]
async fn fidelity_owners() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir t; cd t; echo o > owned; chown 1234:5678 owned; mkdir dir; \
             chown 2000:3000 dir; ln -s owned link; chown -h 4321:8765 link",
            "chown 99:98 t/dir",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && stat -c '%n %u:%g' owned link",
    })
    .await;
    assert_probes(&probes, "owned 1234:5678\nlink 4321:8765\n");
}

#[tokio::test]
async fn fidelity_timestamps() {
    let probes = assert_restores_exactly(Scenario {
        layers: &["mkdir -p t/d; echo x > t/f; ln -s f t/link; \
             touch -m -d '2001-02-03 04:05:06.123456789' t/f; \
             touch -a -d '2002-03-04 05:06:07.987654321' t/f; \
             touch -h -d '2003-01-01 00:00:00.5' t/link; \
             touch -d '2004-01-01 00:00:00.25' t/d t"],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && TZ=UTC stat -c '%n %x %y' f link d",
    })
    .await;
    assert_probes(
        &probes,
        "f 2002-03-04 05:06:07.987654321 +0000 2001-02-03 04:05:06.123456789 +0000\n\
         link 2003-01-01 00:00:00.500000000 +0000 2003-01-01 00:00:00.500000000 +0000\n\
         d 2004-01-01 00:00:00.250000000 +0000 2004-01-01 00:00:00.250000000 +0000\n",
    );
}

#[tokio::test]
async fn fidelity_symlinks() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir -p t/dir; echo target > t/file; cd t; ln -s file relative; \
             ln -s /home/user/t/file absolute; ln -s missing/nowhere dangling; \
             ln -s dir to-dir; ln -s ../t/./file dotted",
            "ln -sfn /etc/hostname t/relative",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && find . -type l -printf '%p -> %l\\n' | sort && \
                cat absolute to-dir/../file",
    })
    .await;
    assert_eq!(
        probes[0],
        "./absolute -> /home/user/t/file\n./dangling -> missing/nowhere\n\
         ./dotted -> ../t/./file\n./relative -> file\n./to-dir -> dir\ntarget\ntarget\n"
    );
    assert!(
        probes[1].contains("./relative -> /etc/hostname\n"),
        "{}",
        probes[1]
    );
}

#[tokio::test]
async fn fidelity_hard_links() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir -p t/a t/b; echo shared > t/a/one; ln t/a/one t/a/two; \
             ln t/a/one t/b/three; echo solo > t/solo",
            "echo other > t/b/other; ln t/b/other t/b/other-link",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && stat -c '%n %h' a/one a/two b/three solo && \
                [ $(stat -c %i a/one) = $(stat -c %i b/three) ] && echo same-inode",
    })
    .await;
    assert_probes(&probes, "a/one 3\na/two 3\nb/three 3\nsolo 1\nsame-inode\n");
}

#[tokio::test]
async fn fidelity_empty_directories() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir -p t/empty t/nested/deeper/deepest t/mode; chmod 0700 t/mode",
            "mkdir t/later",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && find . -type d -empty | sort",
    })
    .await;
    assert_eq!(probes[0], "./empty\n./mode\n./nested/deeper/deepest\n");
    assert_eq!(
        probes[1],
        "./empty\n./later\n./mode\n./nested/deeper/deepest\n"
    );
}

#[tokio::test]
async fn fidelity_fifos() {
    let probes = assert_restores_exactly(Scenario {
        layers: &["mkdir t; mkfifo -m 0620 t/pipe"],
        paths: &["/home/user/t"],
        probe: "stat -c '%n %F %a' /home/user/t/pipe",
    })
    .await;
    assert_probes(&probes, "/home/user/t/pipe fifo 620\n");
}

#[tokio::test]
async fn fidelity_device_nodes() {
    let mut server = TestServer::start();
    let probe_box = server.create_running(json!({})).await;
    let (status, _, stderr) = run(&server, &probe_box, "mknod /tmp/probe c 1 3").await;
    server.stop().await;
    if status != 0 {
        eprintln!("skipping: this host cannot create device nodes in a devbox: {stderr}");
        return;
    }

    let probes = assert_restores_exactly(Scenario {
        layers: &["mkdir t; mknod -m 0666 t/null c 1 3; mknod -m 0600 t/loop b 7 200"],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && stat -c '%n %F %t:%T %a' null loop",
    })
    .await;
    assert_probes(
        &probes,
        "null character special file 1:3 666\nloop block special file 7:c8 600\n",
    );
}

#[tokio::test]
async fn fidelity_extended_attributes() {
    // `setfattr` comes from Debian's attr package, which the host may lack; Python's
    // os.setxattr makes the same system call.
    let set = "python3 -c 'import os; \
               os.setxattr(\"t/file\", \"user.color\", b\"blue\"); \
               os.setxattr(\"t/file\", \"user.binary\", bytes(range(256))); \
               os.setxattr(\"t/dir\", \"user.kind\", b\"directory\"); \
               os.setxattr(\"t/dir\", \"trusted.admin\", b\"root only\")'";
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            &format!("mkdir -p t/dir; echo x > t/file; {set}"),
            "python3 -c 'import os; os.setxattr(\"t/file\", \"user.color\", b\"green\")'",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && python3 -c 'import os; \
                print(os.getxattr(\"file\", \"user.color\"), \
                len(os.getxattr(\"file\", \"user.binary\")), \
                os.getxattr(\"dir\", \"user.kind\"), os.getxattr(\"dir\", \"trusted.admin\"))'",
    })
    .await;
    assert_eq!(probes[0], "b'blue' 256 b'directory' b'root only'\n");
    assert_eq!(probes[1], "b'green' 256 b'directory' b'root only'\n");
}

#[tokio::test]
async fn fidelity_acls() {
    // POSIX ACLs in their extended attribute form: a version header, then (tag, permissions,
    // id) entries sorted by tag. `setfacl` may be missing on the host, so Python writes them.
    let set_acls = "python3 -c 'import os, struct
def acl(*entries):
    return struct.pack(\"<I\", 2) + b\"\".join(struct.pack(\"<HHI\", *entry) for entry in entries)
none = 0xFFFFFFFF
os.setxattr(\"t/file\", \"system.posix_acl_access\",
    acl((1, 6, none), (2, 4, 1234), (4, 4, none), (16, 6, none), (32, 0, none)))
os.setxattr(\"t/dir\", \"system.posix_acl_default\",
    acl((1, 7, none), (2, 7, 1234), (4, 5, none), (16, 7, none), (32, 5, none)))'";
    let mut server = TestServer::start();
    let probe_box = server.create_running(json!({})).await;
    let (status, _, stderr) = run(
        &server,
        &probe_box,
        &format!("set -e; cd /home/user; mkdir t; echo x > t/file; mkdir t/dir; {set_acls}"),
    )
    .await;
    server.stop().await;
    if status != 0 {
        eprintln!("skipping: the devbox file system rejects POSIX ACLs: {stderr}");
        return;
    }

    let probes = assert_restores_exactly(Scenario {
        layers: &[
            &format!("mkdir t; echo x > t/file; mkdir t/dir; {set_acls}"),
            "echo inherited > t/dir/child",
        ],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && python3 -c 'import os; \
                print(os.getxattr(\"file\", \"system.posix_acl_access\").hex()); \
                print(os.getxattr(\"dir\", \"system.posix_acl_default\").hex())' && \
                stat -c '%n %a' file",
    })
    .await;
    // The kernel returns the entries as set, with ids of 0xFFFFFFFF for the owner, group,
    // mask and other entries, and derives the group bits of the mode from the mask.
    assert_probes(
        &probes,
        "0200000001000600ffffffff02000400d204000004000400ffffffff10000600ffffffff20000000ffffffff\n\
         0200000001000700ffffffff02000700d204000004000500ffffffff10000700ffffffff20000500ffffffff\n\
         file 660\n",
    );
}

#[tokio::test]
async fn fidelity_sparse_files() {
    let probes = assert_restores_exactly(Scenario {
        layers: &["mkdir t; truncate -s 256M t/sparse; \
             printf 'middle' | dd of=t/sparse bs=1 seek=100000000 conv=notrunc status=none; \
             printf 'end' | dd of=t/sparse bs=1 seek=268435453 conv=notrunc status=none"],
        paths: &["/home/user/t"],
        probe: "cd /home/user/t && stat -c '%n %s' sparse && \
                [ $(stat -c '%b' sparse) -lt 1024 ] && echo holes-kept && \
                tail -c 3 sparse && echo && \
                dd if=sparse bs=1 skip=100000000 count=6 status=none && echo",
    })
    .await;
    assert_probes(&probes, "sparse 268435456\nholes-kept\nend\nmiddle\n");
}

#[tokio::test]
async fn fidelity_deletions() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir t; echo 1 > t/from-layer; echo 2 > t/kept; rm /etc/hostname",
            "rm t/from-layer; rm -r /etc/skel/.bashrc",
        ],
        paths: &["/home/user/t", "/etc/skel", "/etc/hostname"],
        probe: "for path in /etc/hostname /home/user/t/from-layer /etc/skel/.bashrc \
                /home/user/t/kept /etc/skel/.profile; do \
                test -e $path && echo \"$path present\" || echo \"$path absent\"; done",
    })
    .await;
    assert_eq!(
        probes[0],
        "/etc/hostname absent\n/home/user/t/from-layer present\n/etc/skel/.bashrc present\n\
         /home/user/t/kept present\n/etc/skel/.profile present\n"
    );
    assert_eq!(
        probes[1],
        "/etc/hostname absent\n/home/user/t/from-layer absent\n/etc/skel/.bashrc absent\n\
         /home/user/t/kept present\n/etc/skel/.profile present\n"
    );
}

#[tokio::test]
async fn fidelity_opaque_directories() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir -p t/d/sub; echo old > t/d/old; echo deep > t/d/sub/deep",
            "rm -r t/d; mkdir t/d; echo new > t/d/new; \
             rm -r /etc/skel; mkdir /etc/skel; echo fresh > /etc/skel/fresh",
            "echo later > t/d/later",
        ],
        paths: &["/home/user/t", "/etc/skel"],
        probe: "ls -A /home/user/t/d /etc/skel",
    })
    .await;
    assert_eq!(
        probes[0],
        "/etc/skel:\n.bash_logout\n.bashrc\n.profile\n\n/home/user/t/d:\nold\nsub\n"
    );
    assert_eq!(probes[1], "/etc/skel:\nfresh\n\n/home/user/t/d:\nnew\n");
    assert_eq!(
        probes[2],
        "/etc/skel:\nfresh\n\n/home/user/t/d:\nlater\nnew\n"
    );
}

#[tokio::test]
async fn fidelity_file_and_directory_swaps() {
    let probes = assert_restores_exactly(Scenario {
        layers: &[
            "mkdir -p t/becomes-file/inner; echo x > t/becomes-file/inner/x; \
             echo f > t/becomes-dir",
            "rm -r t/becomes-file; echo now-a-file > t/becomes-file; \
             rm t/becomes-dir; mkdir t/becomes-dir; echo y > t/becomes-dir/y; \
             rm /etc/issue; mkdir /etc/issue; echo z > /etc/issue/z; \
             rm -r /etc/skel; echo skel-file > /etc/skel",
        ],
        paths: &["/home/user/t", "/etc/issue", "/etc/skel"],
        probe: "stat -c '%n %F' /home/user/t/becomes-file /home/user/t/becomes-dir \
                /etc/issue /etc/skel && ls -A /home/user/t/becomes-dir /etc/issue",
    })
    .await;
    assert!(
        probes[0].starts_with(
            "/home/user/t/becomes-file directory\n/home/user/t/becomes-dir regular file\n\
             /etc/issue regular file\n/etc/skel directory\n"
        ),
        "{}",
        probes[0]
    );
    assert_eq!(
        probes[1],
        "/home/user/t/becomes-file regular file\n/home/user/t/becomes-dir directory\n\
         /etc/issue directory\n/etc/skel regular file\n/etc/issue:\nz\n\n\
         /home/user/t/becomes-dir:\ny\n"
    );
}

#[tokio::test]
async fn fidelity_root_directory() {
    let probes = assert_restores_exactly(Scenario {
        layers: &["chmod 0751 /; touch -m -d '2003-04-05 06:07:08.5' /; \
             python3 -c 'import os; os.setxattr(\"/\", \"user.where\", b\"root\")'"],
        paths: &["flat:/"],
        probe: "TZ=UTC stat -c '%a %y' / && \
                python3 -c 'import os; print(os.getxattr(\"/\", \"user.where\"))'",
    })
    .await;
    assert_probes(
        &probes,
        "751 2003-04-05 06:07:08.500000000 +0000\nb'root'\n",
    );
}
