-- wrk script for deploy/bench/rest-bench.sh: every request is the same produce POST, the body read from the
-- file named by REST_BENCH_BODY; non-200 replies are counted by wrk as "Non-2xx or 3xx responses".
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/vnd.kafka.json.v2+json"
local file = assert(io.open(os.getenv("REST_BENCH_BODY"), "rb"))
wrk.body = file:read("*a")
file:close()
