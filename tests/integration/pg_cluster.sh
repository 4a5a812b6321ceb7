#!/usr/bin/env bash
# A throwaway PostgreSQL for the login tests: scram-sha-256, TLS with a
# self-signed certificate, TCP on 127.0.0.1:PORT only, and a Unix socket in a
# directory shaped like Cloud Run's /cloudsql/PROJECT:REGION:INSTANCE.
#
#   pg_cluster.sh start DIR PORT CONNECTION_NAME USER PASSWORD DATABASE
#   pg_cluster.sh stop DIR
#
# DIR must exist and be empty. The server refuses to run as root, so under
# root (CI) everything runs as the unprivileged user nobody. Needs the Debian
# packages postgresql (server) and postgresql-client, and openssl.
set -euo pipefail

die() { echo "pg_cluster: $*" >&2; exit 2; }

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return
    fi
  done
  die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under /usr/lib/postgresql/*/bin: install the Debian packages postgresql and postgresql-client (scripts/test.sh installs them)"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

cmd="${1:-}"
case "$cmd" in
  start)
    [ $# -eq 7 ] || die "usage: $0 start DIR PORT CONNECTION_NAME USER PASSWORD DATABASE"
    dir="$2" port="$3" conn="$4" user="$5" password="$6" database="$7"
    bin="$(bindir)"
    command -v openssl >/dev/null || die "openssl not found: install the Debian package openssl"
    sock="$dir/cloudsql/$conn"
    mkdir -p "$sock"
    super_pw="$(openssl rand -hex 16)"
    printf '%s\n' "$super_pw" >"$dir/superpw"
    openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -days 2 \
      -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1 \
      || die "openssl could not make the throwaway certificate"
    chmod 600 "$dir/server.key" "$dir/superpw"
    if [ "$(id -u)" -eq 0 ]; then chown -R nobody "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/superpw" \
      --auth=scram-sha-256 -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
CONF
    # Like Cloud SQL with sslMode ENCRYPTED_ONLY: TCP only with TLS; the
    # socket (Cloud Run's proxy already encrypts) without.
    cat >"$dir/data/pg_hba.conf" <<HBA
local   all  all                scram-sha-256
hostssl all  all  127.0.0.1/32  scram-sha-256
HBA
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { cat "$dir/server.log" >&2; die "the server did not start"; }
    # Cloud Run's socket is .s.PGSQL.5432 whatever port this server uses.
    if [ "$port" != 5432 ]; then ln -s ".s.PGSQL.$port" "$sock/.s.PGSQL.5432"; fi
    pw_sql="${password//\'/\'\'}"
    PGPASSWORD="$super_pw" PGCONNECT_TIMEOUT=10 "$bin/psql" -X -q -v ON_ERROR_STOP=1 \
      -h "$sock" -p "$port" -U postgres -d postgres \
      -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$pw_sql'" \
      -c "CREATE DATABASE \"$database\" OWNER \"$user\"" >/dev/null \
      || die "could not create role $user and database $database"
    echo "started"
    ;;
  stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    dir="$2"
    bin="$(bindir)"
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    die "usage: $0 start|stop ..."
    ;;
esac
