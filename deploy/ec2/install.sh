#!/usr/bin/env bash
# Installs (or upgrades) pinpipe as a systemd service on a Debian/Ubuntu host, e.g. an EC2 instance.
#
#   sudo deploy/ec2/install.sh --db-creds ./db_creds.yaml            # build from this checkout
#   sudo deploy/ec2/install.sh --binary ./pinpipe --db-creds FILE     # use a prebuilt release binary
#   deploy/ec2/install.sh --root /tmp/stage --binary ./pinpipe ...    # stage into a directory, no systemctl
#
# Options:
#   --binary PATH     prebuilt pinpipe binary (default: swift build -c release --product pinpipe)
#   --config FILE     initial /etc/pinpipe/pinpipe.yaml (default: config/pinpipe.yaml of the checkout);
#                     an existing /etc/pinpipe/pinpipe.yaml is never overwritten
#   --db-creds FILE   database credentials (HOST/PORT/USER/PASSWORD/DATABASE), installed as
#                     /etc/pinpipe/db_creds.yaml 0600 root:root (the service reads it via LoadCredential=)
#   --unit FILE       unit file (default: systemd/pinpipe.service of the checkout)
#   --root DIR        install below DIR instead of /; skips packages and systemctl
#   --no-packages     do not apt-get install the runtime libraries
#   --no-start        install and enable, but do not start or restart
#
# Idempotent: re-running changes only what differs; a changed binary or unit restarts a running service.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$here/../.." && pwd)

root="" binary="" config="" db_creds="" unit="$checkout/systemd/pinpipe.service"
packages=1 start=1
RUNTIME_PACKAGES=(librdkafka1 libpq5 libsystemd0 libyaml-0-2 ca-certificates)

die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*"; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --binary) binary=${2:?}; shift 2 ;;
    --config) config=${2:?}; shift 2 ;;
    --db-creds) db_creds=${2:?}; shift 2 ;;
    --unit) unit=${2:?}; shift 2 ;;
    --root) root=${2:?}; shift 2 ;;
    --no-packages) packages=0; shift ;;
    --no-start) start=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "run as root"
if [[ -n $root ]]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
  [[ $root != / ]] || root=""
fi
staged=0
[[ -n $root ]] && staged=1
[[ -f $unit ]] || die "no unit file $unit"
[[ -z $db_creds || -f $db_creds ]] || die "no such file: $db_creds"
[[ -z $config || -f $config ]] || die "no such file: $config"
[[ -z $binary || -f $binary ]] || die "no such file: $binary"

BIN=$root/usr/local/bin/pinpipe
ETC=$root/etc/pinpipe
UNIT=$root/etc/systemd/system/pinpipe.service
SYSUSERS=$root/usr/lib/sysusers.d/pinpipe.conf
changed=0   # set when the binary or the unit changed: a running service must restart

# 1. Runtime libraries.
if [[ $packages -eq 1 && $staged -eq 0 ]]; then
  missing=()
  for p in "${RUNTIME_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# 2. The system user (sysusers.d, so it also exists in a staged root and on re-runs nothing changes).
mkdir -p "$(dirname "$SYSUSERS")" "$root/etc"
printf '%s\n' '# pinpipe daemon user (deploy/ec2/install.sh)' \
  'u pinpipe - "pinpipe pipeline daemon" /var/lib/pinpipe /usr/sbin/nologin' >"$SYSUSERS.tmp"
mv "$SYSUSERS.tmp" "$SYSUSERS"
chmod 0644 "$SYSUSERS"
if [[ $staged -eq 1 ]]; then
  systemd-sysusers --root="$root" "$SYSUSERS" >/dev/null
else
  systemd-sysusers "$SYSUSERS" >/dev/null
fi
gid=$(awk -F: '$1 == "pinpipe" { print $3 }' "$root/etc/group")
[[ -n $gid ]] || die "group pinpipe was not created"

# 3. The binary.
if [[ -z $binary ]]; then
  command -v swift >/dev/null || die "no --binary given and no swift toolchain to build one"
  say "building release binary in $checkout"
  (cd "$checkout" && swift build -c release --product pinpipe)
  binary=$(cd "$checkout" && swift build -c release --show-bin-path)/pinpipe
fi
mkdir -p "$(dirname "$BIN")"
if ! cmp -s "$binary" "$BIN"; then
  install -m 0755 -o root -g root "$binary" "$BIN.new"
  mv -f "$BIN.new" "$BIN"     # atomic: a running daemon keeps its old inode
  changed=1
  say "installed $BIN"
fi

# 4. Configuration: the directory and main file readable by the service's group, never overwritten.
install -d -m 0750 -o root -g "$gid" "$ETC"
if [[ ! -e $ETC/pinpipe.yaml ]]; then
  [[ -n $config ]] || config=$checkout/config/pinpipe.yaml
  [[ -f $config ]] || die "no configuration to install: pass --config FILE"
  install -m 0640 -o root -g "$gid" "$config" "$ETC/pinpipe.yaml"
  say "installed $ETC/pinpipe.yaml from $config (edit it, then: systemctl restart pinpipe)"
else
  say "keeping existing $ETC/pinpipe.yaml"
fi

# 5. Database credentials: root only; the service gets them through LoadCredential=.
if [[ -n $db_creds ]]; then
  if ! cmp -s "$db_creds" "$ETC/db_creds.yaml"; then
    install -m 0600 -o root -g root "$db_creds" "$ETC/db_creds.yaml"
    changed=1
    say "installed $ETC/db_creds.yaml"
  fi
elif [[ ! -e $ETC/db_creds.yaml ]]; then
  die "no $ETC/db_creds.yaml yet: pass --db-creds FILE"
fi
chown root:root "$ETC/db_creds.yaml"
chmod 0600 "$ETC/db_creds.yaml"

# 6. The unit.
mkdir -p "$(dirname "$UNIT")"
if ! cmp -s "$unit" "$UNIT"; then
  install -m 0644 -o root -g root "$unit" "$UNIT"
  changed=1
  say "installed $UNIT"
fi

# 7. Enable and (re)start.
if [[ $staged -eq 1 ]]; then
  mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
  ln -sfn /etc/systemd/system/pinpipe.service "$root/etc/systemd/system/multi-user.target.wants/pinpipe.service"
  say "staged into $root (no systemctl)"
  exit 0
fi
systemctl daemon-reload
systemctl enable pinpipe.service >/dev/null
if [[ $start -eq 1 ]]; then
  if systemctl is-active --quiet pinpipe.service; then
    if [[ $changed -eq 1 ]]; then
      say "restarting pinpipe (binary, unit or credentials changed)"
      systemctl restart pinpipe.service
    fi
  else
    say "starting pinpipe (returns once it reports READY)"
    systemctl start pinpipe.service
  fi
  systemctl --no-pager status pinpipe.service | head -n 5 || true
fi
say "done"
