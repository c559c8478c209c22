#!/usr/bin/env bash
# sandbox.sh - a throwaway machine with a real systemd as PID 1, built from Linux namespaces
# (unshare/nsenter from util-linux; no container engine), for testing pinpipe the way an operator
# runs it: install the unit, systemctl start/status/stop, journalctl.
#
#   sandbox.sh start NAME                     boot; returns when systemd reports running/degraded
#   sandbox.sh exec NAME CMD...               run CMD inside the sandbox (all its namespaces)
#   sandbox.sh copy NAME SRC DEST [MODE]      copy a host file into the sandbox
#   sandbox.sh install NAME UNIT [SRC:DEST[:MODE]]...   copy a unit (+ files), daemon-reload
#   sandbox.sh status NAME                    alive? console tail
#   sandbox.sh stop NAME                      poweroff (SIGKILL after a timeout), remove cgroup + state
#   sandbox.sh selftest                       Type=notify + watchdog restart + journal, in ~15 s
#
# Environment:
#   SDSANDBOX_NET=private|host   private (default): only loopback of its own;
#                                host: the host's network namespace, so services inside reach the
#                                local stack on 127.0.0.1 (and share the host's ports)
#   SDSANDBOX_STATE_DIR          default /tmp/pinpipe-sandbox
#   SDSANDBOX_BOOT_TIMEOUT       seconds, default 60
#   SDSANDBOX_EXEC_TIMEOUT       seconds per exec, default 300
#   SDSANDBOX_STOP_TIMEOUT       seconds for a clean poweroff, default 20
#   SDSANDBOX_TMPFS_SIZE         size of the tmpfs that takes every write, default 2g
#   SDSANDBOX_KEEP_LOGS=1        keep console.log after stop
#
# Isolation: the sandbox sees the host's files through an overlay whose writable layer is a tmpfs,
# gets fresh /run, /tmp, /dev, proc (kernel knobs read-only) and a read-only sysfs, its own cgroup
# sub-tree, and no host unit is enabled inside. Nothing it writes reaches the host. It guards against
# accidents; it is not a security boundary (it keeps CAP_SYS_ADMIN).
set -euo pipefail

ME=$(readlink -f "${BASH_SOURCE[0]}")
BASE=${SDSANDBOX_STATE_DIR:-/tmp/pinpipe-sandbox}
INNER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Capabilities the sandbox never needs: kernel modules, clock, raw I/O, accounting, MAC, BPF...
CAPS_DROPPED=-sys_module,-sys_time,-sys_rawio,-sys_pacct,-syslog,-wake_alarm,-block_suspend,-mac_admin,-mac_override,-audit_read,-bpf,-perfmon

fail() { echo "sandbox: $*" >&2; exit 1; }
note() { echo "sandbox: $*" >&2; }
clock() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(clock)" 'BEGIN { printf "%.2f", b - a }'; }

check_name() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] || fail "invalid name '$1'"; }
state_dir() { echo "$BASE/$1"; }

unified_cgroup_root() {
  # Mount point of the first cgroup2 file system (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo
}

is_live() {  # a process that exists and is not a zombie
  local s
  s=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $s && $s != Z && $s != X ]]
}

pid1_of() {  # host PID of the sandbox's systemd, only while it is alive and inside our cgroup sub-tree
  local dir=$(state_dir "$1") pid cg
  [[ -r $dir/pid ]] || return 1
  pid=$(<"$dir/pid")
  [[ $pid =~ ^[0-9]+$ ]] && is_live "$pid" || return 1
  cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null) || return 1
  [[ $cg == "/sdsandbox-$1" || $cg == "/sdsandbox-$1/"* ]] || return 1
  echo "$pid"
}

# ------------------------------------------------------------------ inside the new namespaces
enter_cgroup() {
  # PID 1 of the new pid namespace; /proc is still the host's, so /proc/self/stat gives our host PID.
  local hostpid rest
  read -r hostpid rest </proc/self/stat
  echo "$hostpid" >"$SB_DIR/pid.new" && mv "$SB_DIR/pid.new" "$SB_DIR/pid"
  echo 0 >"$SB_CG/cgroup.procs"
  exec unshare --cgroup -- "$ME" __boot
}

boot() {
  local tty top new
  tty=$(readlink /proc/self/fd/0)   # the pty of script(1): becomes /dev/console
  top=$SB_DIR/mnt
  new=$top/root
  mount --make-rprivate /
  mount -t tmpfs -o "mode=0755,size=$SB_TMPFS" sdsandbox "$top"
  mkdir -p "$top/upper" "$top/work" "$new"
  mount -t overlay sdsandbox-root -o "lowerdir=/,upperdir=$top/upper,workdir=$top/work" "$new"
  # An overlay shows one file system; what is mounted below / (a toolchain under /opt, a separate /home)
  # is carried over read-only, or a binary linked against it would not start inside.
  local target
  while read -r target; do
    case $target in
      / | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /run | /run/* | /tmp | /tmp/* | *\\*) continue ;;
      "$BASE" | "$BASE"/*) continue ;;
    esac
    [[ -d $target && -d $new$target ]] || continue
    mount --bind "$target" "$new$target" && mount -o remount,bind,ro "$new$target" \
      || note "could not carry $target over"
  done < <(findmnt -rn -o TARGET | awk '{ print length($0) "\t" $0 }' | sort -n -s | cut -f2-)

  mount -t proc -o nosuid,nodev,noexec proc "$new/proc"
  mount --bind "$new/proc/sys" "$new/proc/sys"
  mount -o remount,bind,ro,nosuid,nodev,noexec "$new/proc/sys"
  if [[ $SB_NET == private ]]; then   # its own network stack may be tuned
    mount --bind "$new/proc/sys/net" "$new/proc/sys/net"
    mount -o remount,bind,rw,nosuid,nodev,noexec "$new/proc/sys/net"
  fi
  if [[ -e $new/proc/sysrq-trigger ]]; then
    mount --bind "$new/proc/sysrq-trigger" "$new/proc/sysrq-trigger"
    mount -o remount,bind,ro "$new/proc/sysrq-trigger"
  fi
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$new/sys"
  mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$new/sys/fs/cgroup"

  mount -t tmpfs -o mode=0755,nosuid,size=4m sdsandbox-dev "$new/dev"
  local spec
  for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r n major minor <<<"$spec"
    mknod -m 666 "$new/dev/$n" c "$major" "$minor"
  done
  mkdir -m 755 "$new/dev/pts" "$new/dev/net"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$new/dev/pts"
  ln -s pts/ptmx "$new/dev/ptmx"
  mkdir -m 1777 "$new/dev/shm"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$new/dev/shm"
  ln -s /proc/self/fd "$new/dev/fd"
  for n in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${n%%:*}" "$new/dev/${n#*:}"; done
  touch "$new/dev/console" && mount --bind "$tty" "$new/dev/console"

  mount -t tmpfs -o mode=0755,nosuid,nodev,size=20% sdsandbox-run "$new/run"
  mount -t tmpfs -o mode=1777,nosuid,nodev,size=20% sdsandbox-tmp "$new/tmp"

  rm -f "$new/etc/machine-id"
  systemd-id128 new >"$new/etc/machine-id"
  echo "$SB_NAME" >"$new/etc/hostname"
  # No unit the host enabled (postgresql, timers, ...) starts in here.
  find "$new/etc/systemd/system" -mindepth 2 -maxdepth 2 \( -path '*.wants/*' -o -path '*.requires/*' \) \
    -exec rm -f {} + 2>/dev/null || true
  # systemd adds a getty on /dev/console in containers; its vhangup() would SIGHUP our pty. Nobody logs in.
  ln -sf /dev/null "$new/etc/systemd/system/console-getty.service"

  mkdir -p "$new/.oldroot"
  cd "$new"
  pivot_root . .oldroot
  cd /
  umount -l /.oldroot
  rmdir /.oldroot
  exec setpriv --bounding-set "$CAPS_DROPPED" -- \
    env -i container=pinpipe-sandbox TERM=linux SYSTEMD_COLORS=0 PATH="$INNER_PATH" LANG=C.UTF-8 \
    /lib/systemd/systemd --system --unit=multi-user.target --show-status=yes --log-level=info
}

# ------------------------------------------------------------------ host side
inside() {  # inside PID SECONDS CMD...
  local pid=$1 seconds=$2
  shift 2
  timeout --kill-after=10 $((seconds + 15)) \
    nsenter --target "$pid" --mount --uts --ipc --net --pid --cgroup --root --wd -- \
    env -i PATH="$INNER_PATH" TERM=dumb LANG=C.UTF-8 HOME=/root SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 \
    timeout --kill-after=5 "$seconds" "$@"
}

do_start() {
  [[ $# -eq 1 ]] || fail "usage: start NAME"
  local name=$1 dir cgroot cg t0 launcher pid state=""
  check_name "$name"
  [[ $(id -u) -eq 0 ]] || fail "needs root"
  dir=$(state_dir "$name")
  [[ ! -e $dir ]] || fail "state $dir exists (running, or stale: run '$0 stop $name')"
  cgroot=$(unified_cgroup_root)
  [[ -n $cgroot ]] || fail "no cgroup2 mount"
  cg=$cgroot/sdsandbox-$name
  [[ ! -e $cg ]] || fail "cgroup $cg exists; run '$0 stop $name'"
  local net=${SDSANDBOX_NET:-private} netns=--net
  case $net in private) ;; host) netns="" ;; *) fail "SDSANDBOX_NET must be private or host" ;; esac
  mkdir -p "$dir/mnt"
  mkdir "$cg"
  echo "$cg" >"$dir/cgroup"

  export SB_NAME=$name SB_DIR=$dir SB_CG=$cg SB_NET=$net ME INNER_PATH CAPS_DROPPED
  export SB_TMPFS=${SDSANDBOX_TMPFS_SIZE:-2g}
  local cmd
  cmd=$(printf '%q ' unshare --mount --propagation private --pid --fork --kill-child --uts --ipc $netns -- "$ME" __enter)
  t0=$(clock)
  # script(1) gives PID 1 a real pty as console; SIGHUP on that pty must not end the sandbox.
  SHELL=/bin/bash setsid script -qfec "trap '' HUP; exec $cmd" "$dir/console.log" </dev/null >/dev/null 2>&1 &
  launcher=$!
  echo "$launcher" >"$dir/launcher.pid"

  local deadline=$((SECONDS + ${SDSANDBOX_BOOT_TIMEOUT:-60}))
  until pid=$(pid1_of "$name"); do
    if ((SECONDS > deadline)) || ! kill -0 "$launcher" 2>/dev/null; then
      note "PID 1 never appeared"; tail -n 40 "$dir/console.log" >&2 || true
      SDSANDBOX_KEEP_LOGS=1 do_stop "$name" >/dev/null 2>&1 || true
      return 1
    fi
    sleep 0.05
  done
  until [[ $state == running || $state == degraded ]]; do
    if ((SECONDS > deadline)) || ! is_live "$pid"; then
      note "systemd did not finish booting (state '$state')"; tail -n 60 "$dir/console.log" >&2 || true
      SDSANDBOX_KEEP_LOGS=1 do_stop "$name" >/dev/null 2>&1 || true
      return 1
    fi
    sleep 0.1
    state=$(inside "$pid" 5 systemctl is-system-running 2>/dev/null) || true
  done
  since "$t0" >"$dir/boot_seconds"
  note "'$name' is $state (host PID $pid, net $net, booted in $(<"$dir/boot_seconds")s)"
  if [[ $state == degraded ]]; then inside "$pid" 10 systemctl --failed --no-legend >&2 || true; fi
}

do_exec() {
  [[ $# -ge 2 ]] || fail "usage: exec NAME CMD..."
  local name=$1 pid
  shift
  [[ $1 == -- ]] && shift
  pid=$(pid1_of "$name") || fail "'$name' is not running"
  inside "$pid" "${SDSANDBOX_EXEC_TIMEOUT:-300}" "$@"
}

do_copy() {
  [[ $# -ge 3 ]] || fail "usage: copy NAME SRC DEST [MODE]"
  local name=$1 src=$2 dest=$3 mode=${4:-} pid
  [[ -f $src ]] || fail "no file $src"
  [[ $dest == /* ]] || fail "DEST must be absolute"
  mode=${mode:-$(stat -c %a "$src")}
  pid=$(pid1_of "$name") || fail "'$name' is not running"
  # Written by a process inside, so paths resolve in the sandbox, never through /proc/PID/root.
  inside "$pid" 60 sh -c 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"' sh "$dest" "$mode" <"$src"
}

do_install() {
  [[ $# -ge 2 ]] || fail "usage: install NAME UNIT [SRC:DEST[:MODE]]..."
  local name=$1 unit=$2 spec src dest mode
  shift 2
  do_copy "$name" "$unit" "/etc/systemd/system/$(basename "$unit")" 0644
  for spec in "$@"; do
    IFS=: read -r src dest mode <<<"$spec"
    do_copy "$name" "$src" "${dest:-/usr/local/bin/$(basename "$src")}" "$mode"
  done
  do_exec "$name" systemctl daemon-reload
}

do_status() {
  local name=$1 pid dir
  dir=$(state_dir "$name")
  if pid=$(pid1_of "$name"); then
    echo "running: host PID $pid, $(inside "$pid" 5 systemctl is-system-running 2>/dev/null || true)"
  else
    echo "not running"
  fi
  [[ -r $dir/console.log ]] && tail -n 20 "$dir/console.log"
  return 0
}

do_stop() {
  [[ $# -eq 1 ]] || fail "usage: stop NAME"
  local name=$1 dir pid cg i launcher
  check_name "$name"
  dir=$(state_dir "$name")
  [[ -d $dir ]] || { note "no sandbox '$name'"; return 0; }
  if pid=$(pid1_of "$name"); then
    kill -s RTMIN+4 "$pid" 2>/dev/null || true   # systemd: poweroff; in a container PID 1 then exits
    for ((i = 0; i < ${SDSANDBOX_STOP_TIMEOUT:-20} * 10; i++)); do is_live "$pid" || break; sleep 0.1; done
    if is_live "$pid"; then
      note "poweroff timed out; SIGKILL to PID 1 (ends every process inside)"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do is_live "$pid" || break; sleep 0.1; done
    fi
  fi
  if [[ -r $dir/launcher.pid ]]; then
    launcher=$(<"$dir/launcher.pid")
    for ((i = 0; i < 50; i++)); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$launcher" 2>/dev/null && grep -qF "$dir/console.log" "/proc/$launcher/cmdline" 2>/dev/null; then
      kill -TERM "$launcher" 2>/dev/null || true
    fi
  fi
  cg=$(cat "$dir/cgroup" 2>/dev/null || true)
  if [[ -n $cg && -d $cg ]]; then
    for ((i = 0; i < 50; i++)); do
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d $cg ]] || break
      sleep 0.1
    done
    [[ ! -d $cg ]] || note "WARNING: cgroup $cg is still populated"
  fi
  if mountpoint -q "$dir/mnt" 2>/dev/null; then
    note "WARNING: $dir/mnt is mounted on the host; leaving $dir alone"
    return 1
  fi
  if [[ ${SDSANDBOX_KEEP_LOGS:-0} == 1 ]]; then
    rm -rf "${dir:?}/mnt"
    mv "$dir" "$dir.stopped.$(date +%s)"
    note "console log kept in $dir.stopped.*"
  else
    rm -rf "${dir:?}"
  fi
  note "'$name' stopped"
}

do_selftest() {
  local name=selftest-$$ tmp rc=0 t0 i
  tmp=$(mktemp -d)
  trap 'do_stop "'"$name"'" || true; rm -rf "'"$tmp"'"' EXIT
  cat >"$tmp/beat.sh" <<'SH'
#!/bin/bash
# Sends READY, then WATCHDOG=1 each second until /run/beat-hang appears.
systemd-notify --ready --status="beating"
while [ ! -e /run/beat-hang ]; do systemd-notify WATCHDOG=1; sleep 1; done
echo "beat: told to hang"
systemd-notify --status="hung"
exec sleep infinity
SH
  cat >"$tmp/beat.service" <<'UNIT'
[Service]
Type=notify
NotifyAccess=all
ExecStart=/usr/local/bin/beat.sh
WatchdogSec=3s
Restart=on-failure
RestartSec=1s
LimitCORE=0
UNIT
  do_start "$name"
  do_install "$name" "$tmp/beat.service" "$tmp/beat.sh:/usr/local/bin/beat.sh:0755"
  local X="do_exec $name"
  t0=$(clock)
  $X systemctl start beat.service
  echo "start returned after READY in $(since "$t0")s; status text: $($X systemctl show -P StatusText beat.service)"
  [[ $($X systemctl is-active beat.service) == active ]] || { echo "FAIL: not active"; rc=1; }
  sleep 4
  [[ $($X systemctl show -P NRestarts beat.service) == 0 ]] || { echo "FAIL: restarted while beating"; rc=1; }
  local before; before=$($X systemctl show -P MainPID beat.service)
  $X touch /run/beat-hang
  t0=$(clock)
  for ((i = 0; i < 150; i++)); do
    [[ $($X systemctl show -P NRestarts beat.service) -ge 1 ]] && break
    sleep 0.1
  done
  $X rm -f /run/beat-hang
  local n; n=$($X systemctl show -P NRestarts beat.service)
  echo "watchdog restart: NRestarts=$n after $(since "$t0")s (MainPID was $before)"
  [[ $n -ge 1 ]] || { echo "FAIL: no watchdog restart"; rc=1; }
  # Read the whole journal before matching (grep -q would close the pipe early: SIGPIPE under pipefail),
  # and give journald a moment to store the line.
  local journal found=0
  for ((i = 0; i < 20; i++)); do
    journal=$($X journalctl -u beat.service -o json --no-pager 2>&1 || true)
    [[ $journal == *'"MESSAGE":"beat: told to hang"'* ]] && { found=1; break; }
    sleep 0.25
  done
  ((found)) || { echo "FAIL: journal entry missing"; echo "$journal" | tail -n 3; rc=1; }
  [[ $rc -eq 0 ]] && echo "SELFTEST PASS" || echo "SELFTEST FAIL"
  return $rc
}

case ${1:-} in
  __enter) enter_cgroup ;;
  __boot) boot ;;
  start) shift; do_start "$@" ;;
  exec) shift; do_exec "$@" ;;
  copy) shift; do_copy "$@" ;;
  install) shift; do_install "$@" ;;
  status) shift; do_status "$@" ;;
  stop) shift; do_stop "$@" ;;
  selftest) shift; do_selftest ;;
  *) sed -n '2,/^set -euo/p' "$ME" | sed '$d' | sed 's/^# \{0,1\}//'; [[ -z ${1:-} || $1 == -h || $1 == --help ]] ;;
esac
