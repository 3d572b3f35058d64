//! The shell script that turns a fresh mount and PID namespace into a devbox.

/// Runs as PID 1 of a new PID namespace, in a new mount namespace, with the host's root
/// still visible. Arguments: `$1` is the devbox's overlay root, `$2` the server's data dir.
///
/// It mounts `/proc`, a read-only `/sys`, a private `/dev`, and a tmpfs over the data dir's
/// path inside the root so that the server's state cannot be seen from the devbox. Then it
/// makes the overlay the root with `pivot_root` and detaches the old root, so no host mount
/// stays reachable. It reports on stdout, in order, `pid <host pid>` (read from the host's
/// `/proc`, before the old root goes) and `ready` (printed by the final PID 1, after the
/// switch). The final PID 1 is a bash loop that ignores termination signals and reaps the
/// orphaned processes that the namespace reparents to it. It never exits by itself.
pub const INIT_SCRIPT: &str = r#"
set -eu
root=$1
data_dir=$2

mount --make-rprivate /
read -r host_pid _rest < /proc/self/stat

mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/home/user"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"

mount -t tmpfs -o nosuid,mode=0755,size=65536k devfs "$root/dev"
for node in null zero full random urandom tty; do
    : > "$root/dev/$node"
    mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o nosuid,nodev,mode=1777 shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"

if [ -d "$root$data_dir" ]; then
    mount -t tmpfs -o mode=0755,size=4k hidden "$root$data_dir"
fi

cd "$root"
pivot_root . .
umount -l .
cd /

echo "pid $host_pid"
exec /bin/bash -c 'echo ready; exec </dev/null >/dev/null 2>&1; trap "" HUP INT QUIT TERM; while :; do sleep 86400 & wait $!; done'
"#;
