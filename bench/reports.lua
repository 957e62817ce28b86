-- reports.lua: the wrk script of bench/reports.sh: manifest polls of
-- distinct devices, paced or as fast as possible, each device at most once.
--
-- BENCH_DEVICES names a file of lines "ID TOKEN HARDWARE VERSION" (mode
-- 0600).  The devices are walked in a permutation (index k * STRIDE mod
-- N, as bench/polls.lua does) cut into one slice per wrk thread
-- (BENCH_WRK_THREADS), so no device is polled twice while a thread has
-- not used up its slice.
--
--   BENCH_RATE=R   paced: R polls/s in all (each thread R / threads);
--                  delay() holds a connection back when its thread is
--                  ahead of the schedule (one-second steps: os.time()).
--   BENCH_ONCE=1   every thread stops once each device of its slice was
--                  answered (the burst after a restart), and creates the
--                  file done.<thread> in BENCH_DONE_DIR: wrk only exits
--                  at the end of its -d or on SIGINT (reports.sh sends
--                  it).
--
-- done() prints one line for bench/lib.sh's wrk_run, with the fields of
-- polls.lua (s200, s204, ...).
local threads = {}
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local requests = {}
local n = 0
local k, quota = 0, 0
local stride = 1
local rate = 0      -- this thread's polls/s, 0: as fast as possible
local once = false
local sent = 0
local t0 = nil

local function gcd(a, b)
	while b ~= 0 do
		a, b = b, a % b
	end
	return a
end

function init(args)
	local path = os.getenv("BENCH_DEVICES")
	if path == nil or path == "" then
		error("reports.lua: BENCH_DEVICES is not set")
	end
	local host = wrk.headers["Host"]
	for line in io.lines(path) do
		local id, token, hw, ver = line:match("^(%S+) (%S+) (%S+) (%S+)$")
		if id == nil then
			error("reports.lua: malformed line in " .. path)
		end
		n = n + 1
		requests[n] = "GET /api/v1/devices/" .. id ..
		    "/manifest?hardware=" .. hw .. "&version=" .. ver ..
		    " HTTP/1.1\r\nHost: " .. host ..
		    "\r\nAuthorization: Bearer " .. token .. "\r\n\r\n"
	end
	if n == 0 then
		error("reports.lua: no devices in " .. path)
	end
	stride = math.floor(n * 0.618) + 1
	while gcd(stride, n) ~= 1 do
		stride = stride + 1
	end
	local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1") or 1
	local t = tid or 0
	k = math.floor(t * n / nthreads)
	quota = math.floor((t + 1) * n / nthreads) - k
	rate = (tonumber(os.getenv("BENCH_RATE") or "0") or 0) / nthreads
	once = os.getenv("BENCH_ONCE") == "1"
	devices = n
	answered = 0
	s200, s204, s304, s401, s403, s404, sother = 0, 0, 0, 0, 0, 0, 0
end

-- Paced: a connection waits while its thread has sent what the current
-- second allows; otherwise it goes on at once.
function delay()
	if rate <= 0 then
		return 0
	end
	if t0 == nil then
		t0 = os.time()
	end
	if sent >= (os.time() - t0 + 1) * rate then
		return 20
	end
	return 0
end

function request()
	local r = requests[(k * stride) % n + 1]
	k = k + 1
	sent = sent + 1
	return r
end

function response(status, headers, body)
	answered = answered + 1
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
	if once and answered == quota then
		-- wrk itself runs for its whole -d: tell reports.sh, which
		-- interrupts it once every thread is done.
		local f = io.open(os.getenv("BENCH_DONE_DIR") .. "/done." ..
		    tostring(tid or 0), "w")
		if f ~= nil then
			f:close()
		end
		wrk.thread:stop()
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
