# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_redis_tls_scan_global_optspecs
    string join \n v/verbose color= h/help V/version
end

function __fish_redis_tls_scan_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_redis_tls_scan_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_redis_tls_scan_using_subcommand
    set -l cmd (__fish_redis_tls_scan_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -s V -l version -d 'Print version'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "scan" -d 'Scan targets and write reports'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "demo" -d 'Start built-in example endpoints on loopback, scan them, and show the reports (no setup needed)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "diff" -d 'What changed between two scans (report.json files or run directories); exit 1 when worse'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "merge" -d 'Combine the shard directories of one sweep (--shard I/N, one seed) into one run directory'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "serve" -d 'Prometheus exporter: GET /probe?target=host:port[&module=NAME] probes one endpoint (like blackbox_exporter), GET /metrics the exporter\'s own metrics; targets limited by --allow'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "completions" -d 'Print a shell completion script (e.g. `redis-tls-scan completions bash > /etc/bash_completion.d/redis-tls-scan`)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "man" -d 'Print the man page (roff) on stdout (e.g. `redis-tls-scan man | man -l -`)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s f -l targets-file -d 'Read targets from a file (\'-\': stdin); repeatable. One target per line (\'#\' comments), or the output of `nmap -oG`, `masscan -oL`, or redis:// and rediss:// URIs' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s p -l ports -d 'Ports for targets without one: list and ranges, e.g. 6379,6380,7000-7005' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l exclude -d 'Never scan these addresses (IP, CIDR or range); repeatable' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l exclude-file -d 'Read exclusions from a file; repeatable' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l seed -d 'Seed of the visiting order (a pseudo-random permutation); the same seed gives the same order. Default: random, recorded in the metadata' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l shard -d 'Scan only shard I of N (0-based), e.g. 3/8: with one seed, N shards are disjoint and cover all' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s o -l output -d 'Output directory [default: reports/<UTC timestamp>]; `none`: no run directory (see --no-output)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l format -d 'What to write on stdout: text (the summary), jsonl (one line per endpoint as it finishes, then a summary line), json (report.json at the end). Progress and messages stay on stderr' -r -f -a "text\t'The human summary (the default)'
jsonl\t'One JSON object per finished endpoint as it finishes (the journal\'s endpoint lines), the host-level findings, then one summary object: for `jq` and pipelines'
json\t'`report.json`, once the scan is done'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s c -l concurrency -d 'Endpoints probed at once (clamped to the open-file limit)' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l rate -d 'New TCP connections per second, scan-wide (0: unlimited). The default is gentle on production networks; a full TLS audit costs 20-40 connections per TLS endpoint' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l host-concurrency -d 'Endpoints of one address probed at once' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l connect-timeout -d 'Timeout of one TCP connect' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l read-timeout -d 'Timeout of one read (waiting for a reply)' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l endpoint-timeout -d 'Total time allowed per endpoint, all probes included' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l sni -d 'Name for SNI and the hostname check (default: the target\'s hostname; IP identity otherwise)' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l roots -d 'Built-in trust anchors [default: system, or none when --ca-file is given]' -r -f -a "system\t'The operating system\'s store (honours SSL_CERT_FILE / SSL_CERT_DIR)'
mozilla\t'Mozilla\'s root program, built in (reproducible across machines)'
none\t'None: only --ca-file anchors'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l ca-file -l cacert -d 'PEM file of CA certificates to trust (your private CA); repeatable. Alias --cacert (redis-cli)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l client-cert -l cert -d 'Client certificate chain (PEM) to present in an extra handshake, to test PING with mTLS. Alias --cert (redis-cli)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l client-key -l key -d 'Private key (PEM) of --client-cert. Alias --key (redis-cli)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l cipher-scan -d 'Raw ClientHello probe: full (every accepted suite of SSLv3..TLS 1.3), quick (versions and weak-suite classes only: fewer connections for huge sweeps), off (TLS 1.2/1.3 through rustls only)' -r -f -a "full\t'Versions, every accepted suite of every version, server preference, key-exchange sizes'
quick\t'Versions, plus one hello per weak-suite class per accepted version (no full list)'
off\t'No raw probe: TLS 1.2 and 1.3 through rustls only; SSLv3 to TLS 1.1 not tested'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l user -d 'ACL user for --audit (AUTH NAME password) [default: the default user]. Alias of redis-cli\'s --user' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l password-file -d 'File whose first line is the --audit password (instead of REDISCLI_AUTH)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l credentials-file -d '--audit credentials per scope, for fleets: one line each `SCOPE USER PASSWORD-FILE` (SCOPE an IP, CIDR, range or host name; USER `-` for the default user; \'#\' comments); the first line covering an endpoint wins, the others use --user / --password-file / REDISCLI_AUTH' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l follow-scope -d 'Widen --follow\'s scope to this CIDR (or address, or range); repeatable' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l warn-days -d 'Raise cert_expiring_soon when the certificate has at most this many days left' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l fail-on -d 'Exit with code 1 when a finding of this severity or higher is found (any case: high, HIGH)' -r -f -a "info\t'Informational'
low\t'Low'
medium\t'Medium'
high\t'High'
critical\t'Critical'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l max-endpoints -d 'Refuse to scan more endpoints than this (protects against typos like a /8 instead of a /24)' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l prometheus -d 'Also write the results in Prometheus text format to FILE (for node_exporter\'s textfile collector)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l push-gateway -d 'Push the --prometheus file to this Prometheus Pushgateway (http://host[:port]) at the end, grouped by --push-job and the shard; a failed push exits 2 (the reports are written)' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l push-job -d 'Job name of the pushed group' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l resume -d 'Continue an interrupted scan from its directory (journal): same targets, seed and shard; every endpoint is scanned exactly once overall. Takes no targets' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l allow-reserved -d 'Also scan special-purpose ranges (0.0.0.0/8, multicast, 240.0.0.0/4, documentation, link-local, ...), which are never scanned by default'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l no-output -d 'No run directory: the results go only to stdout (--format) and --prometheus. Same as `-o none`. Such a scan cannot be resumed'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l audit -d 'Authenticated audit (opt-in): after the probes, log in to each endpoint that speaks Redis (over its own transport; TLS sessions are verified) and read what only the server can tell with read-only commands: replication and cluster-bus TLS, clients per listener, ACL users, tls-* settings. The password comes from REDISCLI_AUTH or --password-file, never from the command line; one AUTH per endpoint, never retried'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l follow -d 'With --audit: after the sweep, also probe and audit the masters, replicas and cluster nodes the audited servers name, when they fall inside the scope (the targets\' addresses, or --follow-scope), exclusions applied, each endpoint once'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l include-closed -d 'Also list closed, filtered and unreachable endpoints in the reports'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s q -l quiet -d 'No progress bar and no summary on the terminal'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -l resume-existing -d 'When the -o directory already holds this scan\'s journal, resume it instead of refusing to overwrite it; otherwise start it. For restarted Job pods and retried timers: the same command line starts or continues'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand demo" -s o -l output -d 'Output directory [default: reports/demo-<UTC timestamp>]' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand demo" -l port -d 'The port every demo endpoint listens on (each on its own 127.0.0.N), when free; a busy one falls back to a free port. Two runs with one port name the same endpoints, so `diff` compares them' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand demo" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand demo" -s q -l quiet -d 'No summary on the terminal'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand demo" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand diff" -l latest-in -d 'Compare the two newest runs under PARENT (by name; a run is a directory holding `report.json` or `merged/report.json`) and keep the result in the newer one (diff.txt, or diff.json with --json). With a single run there is nothing to compare: exit 0' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand diff" -s o -l output -d 'Also write the comparison to FILE (replaced when it exists)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand diff" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand diff" -l json -d 'Print JSON instead of text'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand diff" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l run -d 'Merge every `shard-*` directory of this run directory (no shell glob needed); output defaults to `DIR/merged`' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l latest-in -d 'Like --run, on the newest run directory under PARENT (the greatest name holding a `shard-*` directory; CronJob and `reports/<UTC time>` names sort by time)' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -s o -l output -d 'Output directory for the merged run [default with --run/--latest-in: RUN/merged]' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l prometheus -d 'Also write the merged results in Prometheus text format to FILE' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l push-gateway -d 'Push the --prometheus file to this Prometheus Pushgateway (http://host[:port]) at the end, grouped by --push-job and the shard; a failed push exits 2 (the reports are written)' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l push-job -d 'Job name of the pushed group' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l fail-on -d 'Exit with code 1 when a finding of this severity or higher is found (any case: high, HIGH)' -r -f -a "info\t'Informational'
low\t'Low'
medium\t'Medium'
high\t'High'
critical\t'Critical'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -s q -l quiet -d 'No summary on the terminal'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -l listen -d 'Address to listen on, e.g. 127.0.0.1:9739 or [::]:9739' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -l allow -d 'Targets the exporter may probe: an address or CIDR, or a host name (*.example.com for every name under it); repeatable. Anything else is refused (400) before any connection; a name must resolve only to allowed addresses unless it is allowed by name. Special-purpose ranges are never probed' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -l config -d 'Probe modules (TOML): depth, trust anchors, client certificate, timeout per module. Built in: quick (the default) and full' -r -F
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -l max-concurrent -d 'Probes running at once (clamped to the open-file limit); more wait up to a second, then get 503' -r
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand completions" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand completions" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand man" -l color -d 'Colour in the terminal summary: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t'Always (also into pipes and files)'
never\t'Never'"
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand man" -s v -l verbose -d 'More output on stderr: -v one line per finished endpoint (and info logs), -vv debug logs; RUST_LOG overrides the log level'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "scan" -d 'Scan targets and write reports'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "demo" -d 'Start built-in example endpoints on loopback, scan them, and show the reports (no setup needed)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "diff" -d 'What changed between two scans (report.json files or run directories); exit 1 when worse'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "merge" -d 'Combine the shard directories of one sweep (--shard I/N, one seed) into one run directory'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "serve" -d 'Prometheus exporter: GET /probe?target=host:port[&module=NAME] probes one endpoint (like blackbox_exporter), GET /metrics the exporter\'s own metrics; targets limited by --allow'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "completions" -d 'Print a shell completion script (e.g. `redis-tls-scan completions bash > /etc/bash_completion.d/redis-tls-scan`)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "man" -d 'Print the man page (roff) on stdout (e.g. `redis-tls-scan man | man -l -`)'
complete -c redis-tls-scan -n "__fish_redis_tls_scan_using_subcommand help; and not __fish_seen_subcommand_from scan demo diff merge serve completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
