-- polls.lua: the wrk script of bench/polls.sh: manifest polls of many
-- devices, each request with that device's own token and query.
--
-- BENCH_DEVICES names a file of lines "ID TOKEN HARDWARE VERSION" (written
-- by polls.sh, mode 0600: the tokens never appear on a command line).
-- Each wrk thread loads it into its own Lua state at init and builds one
-- request per device:
--
--   GET /api/v1/devices/ID/manifest?hardware=HARDWARE&version=VERSION
--   Authorization: Bearer TOKEN
--
-- wrk's Lua API has no per-connection hook: request() is called for
-- whichever connection of the thread is ready, so the thread hands out
-- devices in turn.  The order is a permutation of the list (index
-- k * STRIDE mod N, STRIDE prime to N), not the id order, so consecutive
-- polls hit unrelated rows, as polls from a real fleet do; thread t starts
-- at k = t * N / BENCH_WRK_THREADS (plus BENCH_POLL_START, the polls each
-- thread made in the script's earlier runs: bench/lib.sh's wrk_run sets
-- it), so the threads walk different parts of the list and a run goes on
-- where the last one stopped.  Every device is polled before any is
-- polled twice (given enough requests, over runs), and every device polls
-- alike.
--
-- response() counts statuses per thread; done() sums them and prints one
-- machine-readable line for bench/lib.sh's wrk_run:
--
--   BENCH requests=N bytes=N duration_us=N connect=N read=N write=N
--         status=N timeout=N p50_us=N p99_us=N s200=N s204=N s304=N
--         s401=N s403=N s404=N sother=N devices=N
--
-- status counts responses that were not 2xx or 3xx (wrk's own count).

local threads = {}
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local requests = {}
local n = 0
local k = 0
local stride = 1

-- gcd(a, b), to pick a stride prime to n.
local function gcd(a, b)
	while b ~= 0 do
		a, b = b, a % b
	end
	return a
end

function init(args)
	local path = os.getenv("BENCH_DEVICES")
	if path == nil or path == "" then
		error("polls.lua: BENCH_DEVICES is not set")
	end
	local host = wrk.headers["Host"]
	for line in io.lines(path) do
		local id, token, hw, ver = line:match("^(%S+) (%S+) (%S+) (%S+)$")
		if id == nil then
			error("polls.lua: malformed line in " .. path)
		end
		n = n + 1
		requests[n] = "GET /api/v1/devices/" .. id ..
		    "/manifest?hardware=" .. hw .. "&version=" .. ver ..
		    " HTTP/1.1\r\nHost: " .. host ..
		    "\r\nAuthorization: Bearer " .. token .. "\r\n\r\n"
	end
	if n == 0 then
		error("polls.lua: no devices in " .. path)
	end
	-- A large stride prime to n: a permutation that jumps around.
	stride = math.floor(n * 0.618) + 1
	while gcd(stride, n) ~= 1 do
		stride = stride + 1
	end
	local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1") or 1
	-- BENCH_POLL_START: polls each thread made in earlier runs, so that
	-- a run goes on where the last one stopped (a warm-up then covers the
	-- whole fleet, not the same first devices again each run).
	k = math.floor((tid or 0) * n / nthreads) +
	    (tonumber(os.getenv("BENCH_POLL_START") or "0") or 0)
	-- Globals, so that done() can read them with thread:get().
	devices = n
	s200, s204, s304, s401, s403, s404, sother = 0, 0, 0, 0, 0, 0, 0
end

function request()
	local r = requests[(k * stride) % n + 1]
	k = k + 1
	return r
end

function response(status, headers, body)
	if status == 200 then
		s200 = s200 + 1
	elseif status == 204 then
		s204 = s204 + 1
	elseif status == 304 then
		s304 = s304 + 1
	elseif status == 401 then
		s401 = s401 + 1
	elseif status == 403 then
		s403 = s403 + 1
	elseif status == 404 then
		s404 = s404 + 1
	else
		sother = sother + 1
	end
end

function done(summary, latency, reqs)
	local e = summary.errors
	local sum = { s200 = 0, s204 = 0, s304 = 0, s401 = 0, s403 = 0,
	    s404 = 0, sother = 0 }
	local ndev = 0
	for _, t in ipairs(threads) do
		for name, _ in pairs(sum) do
			sum[name] = sum[name] + (t:get(name) or 0)
		end
		ndev = t:get("devices") or ndev
	end
	io.write(string.format(
		"BENCH requests=%d bytes=%d duration_us=%d connect=%d read=%d " ..
		"write=%d status=%d timeout=%d p50_us=%d p99_us=%d s200=%d " ..
		"s204=%d s304=%d s401=%d s403=%d s404=%d sother=%d devices=%d\n",
		summary.requests, summary.bytes, summary.duration,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(99), sum.s200,
		sum.s204, sum.s304, sum.s401, sum.s403, sum.s404, sum.sother,
		ndev))
end
