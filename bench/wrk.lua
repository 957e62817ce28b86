-- wrk.lua: used by bench/downloads.sh for every wrk run.
--
-- Adds "Authorization: Bearer $BENCH_TOKEN" to each request (so the token
-- never appears on a command line), and at the end prints one line that
-- lib.sh (wrk_run) parses instead of wrk's human-readable, unit-suffixed
-- summary:
--
--   BENCH requests=N bytes=N duration_us=N connect=N read=N write=N
--         status=N timeout=N p50_us=N p99_us=N
--
-- bytes counts every byte read from the sockets (headers, bodies and the
-- partial bodies still in flight when the run stops), so bytes/duration is
-- wrk's "Transfer/sec".  status counts responses that were not 2xx or 3xx.

local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d bytes=%d duration_us=%d connect=%d read=%d " ..
		"write=%d status=%d timeout=%d p50_us=%d p99_us=%d\n",
		summary.requests, summary.bytes, summary.duration,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(99)))
end
