// Engine parameters the running server can change without a restart (Redis CONFIG SET,
// MySQL/MariaDB SET GLOBAL). An allow-list on purpose: a parameter missing here is assumed to need
// a restart, which over-states the risk of a change rather than hiding it.

const REDIS_RUNTIME = new Set([
  'maxmemory', 'maxmemory-policy', 'maxmemory-samples', 'maxmemory-eviction-tenacity', 'maxmemory-clients',
  'timeout', 'tcp-keepalive', 'save', 'appendonly', 'appendfsync', 'no-appendfsync-on-rewrite',
  'auto-aof-rewrite-percentage', 'auto-aof-rewrite-min-size', 'hz', 'dynamic-hz', 'loglevel',
  'slowlog-log-slower-than', 'slowlog-max-len', 'latency-monitor-threshold', 'latency-tracking',
  'notify-keyspace-events', 'maxclients', 'min-replicas-to-write', 'min-replicas-max-lag',
  'repl-backlog-size', 'repl-backlog-ttl', 'repl-timeout', 'repl-diskless-sync', 'repl-diskless-sync-delay',
  'replica-priority', 'replica-serve-stale-data', 'lazyfree-lazy-eviction', 'lazyfree-lazy-expire',
  'lazyfree-lazy-server-del', 'lazyfree-lazy-user-del', 'activedefrag', 'active-defrag-ignore-bytes',
  'active-defrag-threshold-lower', 'active-defrag-threshold-upper', 'active-defrag-cycle-min',
  'active-defrag-cycle-max', 'hash-max-listpack-entries', 'hash-max-listpack-value', 'hash-max-ziplist-entries',
  'hash-max-ziplist-value', 'list-max-listpack-size', 'list-max-ziplist-size', 'list-compress-depth',
  'set-max-intset-entries', 'set-max-listpack-entries', 'zset-max-listpack-entries', 'zset-max-listpack-value',
  'zset-max-ziplist-entries', 'zset-max-ziplist-value', 'stream-node-max-bytes', 'stream-node-max-entries',
  'client-output-buffer-limit', 'lua-time-limit', 'busy-reply-threshold', 'stop-writes-on-bgsave-error',
  'rdbcompression', 'rdbchecksum', 'activerehashing', 'proto-max-bulk-len', 'client-query-buffer-limit',
  'lfu-log-factor', 'lfu-decay-time',
]);

const MYSQL_RUNTIME = new Set([
  'max_connections', 'max_user_connections', 'max_connect_errors', 'innodb_buffer_pool_size', 'long_query_time',
  'slow_query_log', 'log_queries_not_using_indexes', 'general_log', 'wait_timeout', 'interactive_timeout',
  'max_allowed_packet', 'sort_buffer_size', 'join_buffer_size', 'read_buffer_size', 'read_rnd_buffer_size',
  'tmp_table_size', 'max_heap_table_size', 'table_open_cache', 'table_definition_cache', 'thread_cache_size',
  'innodb_flush_log_at_trx_commit', 'sync_binlog', 'innodb_io_capacity', 'innodb_io_capacity_max',
  'innodb_lock_wait_timeout', 'lock_wait_timeout', 'max_execution_time', 'max_statement_time',
  'innodb_max_dirty_pages_pct', 'innodb_adaptive_hash_index', 'innodb_stats_on_metadata', 'key_buffer_size',
  'net_read_timeout', 'net_write_timeout', 'expire_logs_days', 'binlog_expire_logs_seconds', 'sql_mode',
  'character_set_server', 'collation_server', 'time_zone', 'log_warnings', 'innodb_print_all_deadlocks',
  'rpl_semi_sync_master_timeout', 'rpl_semi_sync_master_wait_point', 'slave_net_timeout', 'group_concat_max_len',
]);

export type ConfigDialect = 'redis' | 'mysql';

export function appliesAtRuntime(dialect: ConfigDialect, parameter: string): boolean {
  return dialect === 'redis'
    ? REDIS_RUNTIME.has(parameter.toLowerCase())
    : MYSQL_RUNTIME.has(parameter.toLowerCase().replace(/-/g, '_'));
}

/** Which config language a ConfigMap key holds, by its file name; undefined: not an engine config. */
export function dialectOf(dataKey: string): ConfigDialect | undefined {
  if (/^redis.*\.conf$/.test(dataKey)) return 'redis';
  if (/\.cnf$/.test(dataKey)) return 'mysql';
  return undefined;
}

/**
 * Parameters of a config file as name → value. Redis: "name value..." lines (a repeated name,
 * e.g. `save`, joins its values); MySQL: "name = value" or bare "name" lines, section-qualified
 * outside [mysqld]/[mariadb]/[server] so a client setting never passes for a server one.
 */
export function parseConfig(dialect: ConfigDialect, text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (dialect === 'mysql') {
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        section = sec[1] ?? '';
        continue;
      }
      const eq = line.indexOf('=');
      const name = (eq < 0 ? line : line.slice(0, eq)).trim().replace(/-/g, '_');
      const value = eq < 0 ? 'ON' : line.slice(eq + 1).trim();
      const server = ['', 'mysqld', 'mariadb', 'server', 'galera'].includes(section);
      out.set(server ? name : `[${section}]${name}`, value);
    } else {
      const sp = line.search(/\s/);
      const name = (sp < 0 ? line : line.slice(0, sp)).toLowerCase();
      const value = sp < 0 ? '' : line.slice(sp + 1).trim();
      const prev = out.get(name);
      out.set(name, prev === undefined ? value : `${prev}\n${value}`);
    }
  }
  return out;
}

/** Names of the parameters whose value differs between two versions of a config file. */
export function changedParameters(dialect: ConfigDialect, before: string, after: string): string[] {
  const a = parseConfig(dialect, before);
  const b = parseConfig(dialect, after);
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}
