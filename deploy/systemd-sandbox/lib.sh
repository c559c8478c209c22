# Shared by the sandbox suites (test-operator-path.sh, soak.sh); source it, do not run it.

passed=0 failed=0
# check DESCRIPTION CMD...: runs CMD, counts and prints the outcome.
check() {
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $what"
  else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
# finish: the closing "N passed, M failed" line, and the exit status.
finish() {
  echo "${SUITE:-sandbox}: $passed passed, $failed failed"
  [[ $failed -eq 0 ]] && exit 0 || exit 1
}

# credentials_dropin SANDBOX_SCRIPT NAME: in this sandbox systemd 252 cannot hand LoadCredential= files to a
# non-root user (the credentials directory stays 0700 root; a plain host or EC2 instance is not affected).
# Detects it and only then installs a readable copy, printing the drop-in line that points the daemon at it.
credentials_dropin() {
  local sb=$1 name=$2
  if ! "$sb" exec "$name" systemd-run --wait --pipe -q -p User=pinpipe \
      -p LoadCredential=db_creds.yaml:/etc/pinpipe/db_creds.yaml \
      sh -c 'test -r "$CREDENTIALS_DIRECTORY/db_creds.yaml"' >/dev/null 2>&1; then
    "$sb" exec "$name" sh -c 'install -d -m 0750 -g pinpipe /etc/pinpipe/sandbox-credentials &&
      install -m 0640 -g pinpipe /etc/pinpipe/db_creds.yaml /etc/pinpipe/sandbox-credentials/db_creds.yaml'
    echo "Environment=CREDENTIALS_DIRECTORY=/etc/pinpipe/sandbox-credentials"
  fi
}
