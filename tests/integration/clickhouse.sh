# Helpers for integration tests that need a real ClickHouse server (Debian's clickhouse-server,
# installed by scripts/install-deps.sh). Source after lib.sh. The server runs with a private
# configuration in $WORK/clickhouse, listening on 127.0.0.1 only, on free ports; the test's cleanup
# (lib.sh) kills it.
#   start_clickhouse       starts it (again, on the same ports and data, after kill_clickhouse)
#   kill_clickhouse        SIGKILL, as a crash
#   stop_clickhouse        SIGTERM and wait
#   chq SQL                runs one query with clickhouse-client, prints the result (TabSeparated)
# Sets CH_URL (http://127.0.0.1:PORT), CH_HTTP_PORT, CH_TCP_PORT, CH_PID; CH_HOME is a HOME whose
# .clickhouse-client/config.xml points clickhouse-client at the server (for documented commands).

for tool in clickhouse-server clickhouse-client; do
    command -v "$tool" >/dev/null || fail "$tool is required (scripts/install-deps.sh installs Debian's clickhouse-server)"
done

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}

CH_DIR=$WORK/clickhouse
CH_HTTP_PORT=
CH_TCP_PORT=
CH_PID=

start_clickhouse() {
    if [[ -z $CH_HTTP_PORT ]]; then
        CH_HTTP_PORT=$(free_port)
        CH_TCP_PORT=$(free_port)
        mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log} "$CH_DIR/home/.clickhouse-client"
        cat >"$CH_DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$CH_DIR/log/server.log</log><errorlog>$CH_DIR/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CH_HTTP_PORT</http_port>
  <tcp_port>$CH_TCP_PORT</tcp_port>
  <path>$CH_DIR/data/</path>
  <tmp_path>$CH_DIR/tmp/</tmp_path>
  <user_files_path>$CH_DIR/user_files/</user_files_path>
  <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
  <users_config>$CH_DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>134217728</mark_cache_size>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
  <timezone>UTC</timezone>
  <remote_servers>
    <archive_cluster>
      <shard><replica><host>127.0.0.1</host><port>$CH_TCP_PORT</port></replica></shard>
    </archive_cluster>
  </remote_servers>
</yandex>
XML
        cat >"$CH_DIR/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
XML
        cat >"$CH_DIR/home/.clickhouse-client/config.xml" <<XML
<config><host>127.0.0.1</host><port>$CH_TCP_PORT</port></config>
XML
        CH_HOME=$CH_DIR/home
        CH_URL=http://127.0.0.1:$CH_HTTP_PORT
    fi
    clickhouse-server --config-file="$CH_DIR/config.xml" >>"$CH_DIR/log/stdout.log" 2>&1 &
    CH_PID=$!
    track_pid "$CH_PID"
    local i
    for i in $(seq 1 300); do
        if clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" --query "SELECT 1" >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$CH_PID" 2>/dev/null || fail "clickhouse-server exited: $(tail -n 20 "$CH_DIR/log/stdout.log" "$CH_DIR/log/error.log" 2>/dev/null)"
        sleep 0.1
    done
    fail "clickhouse-server did not answer within 30 s"
}

kill_clickhouse() {
    kill -9 "$CH_PID" 2>/dev/null || true
    wait "$CH_PID" 2>/dev/null || true
}

stop_clickhouse() {
    kill -TERM "$CH_PID" 2>/dev/null || true
    wait "$CH_PID" 2>/dev/null || true
}

chq() {
    clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" --query "$1"
}
