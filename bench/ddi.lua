-- ddi.lua: the wrk script of bench/ddi.sh: hawkBit DDI requests of many
-- devices, each with that device's own TargetToken.
--
-- BENCH_DEVICES names a file of lines "ID TOKEN HARDWARE VERSION" (written
-- by ddi.sh, mode 0600: the tokens never appear on a command line).
-- BENCH_DDI_MODE says what each thread builds, one request per device:
--
--   poll:   GET /DEFAULT/controller/v1/ID
--           Authorization: TargetToken TOKEN
--   config: PUT /DEFAULT/controller/v1/ID/configData
--           {"id":"","time":"20261121T120000","status":{"result":
--            {"finished":"success"},"execution":"closed","details":[""]},
--            "data":{"sw_version":VERSION,"hw_revision":HARDWARE}}
--           (the body SWUpdate's suricatta sends)
--
-- With BENCH_DDI_DELAY_MS set (a number of milliseconds), C connections
-- send C * 1000 / DELAY requests a second on a fixed schedule (wrk's
-- delay(), see below), whatever the latency, as long as a connection is
-- free when a request is due: a paced load whose latency is not hidden by
-- a full pipe, nor its rate by slow answers.
--
-- The devices are handed out as in polls.lua: a permutation of the list
-- (index k * STRIDE mod N), thread t starting at k = t * N / threads.
-- With BENCH_DDI_DONE_DIR set, each thread creates the file DIR/TID once it
-- has the answers for its share of the list (N / threads devices): ddi.sh
-- stops wrk (SIGINT: wrk then reports as usual) when every thread has, so
-- that run sends each device about one request (threads done early go on
-- with their neighbours' devices until the last one is done).
--
-- done() prints one machine-readable line for bench/lib.sh's wrk_run:
--
--   BENCH requests=N bytes=N duration_us=N connect=N read=N write=N
--         status=N timeout=N p50_us=N p99_us=N s200=N s204=N s304=N
--         s401=N s403=N s404=N sother=N devices=N deploy=N cancel=N
--         config=N
--
-- deploy, cancel and config count the 200 answers whose body has a
-- deploymentBase, cancelAction or configData link.

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
local share = 0
local answers = 0
local done_file = nil

local function gcd(a, b)
	while b ~= 0 do
		a, b = b, a % b
	end
	return a
end

function init(args)
	local path = os.getenv("BENCH_DEVICES")
	if path == nil or path == "" then
		error("ddi.lua: BENCH_DEVICES is not set")
	end
	local mode = os.getenv("BENCH_DDI_MODE") or "poll"
	if mode ~= "poll" and mode ~= "config" then
		error("ddi.lua: BENCH_DDI_MODE is poll or config")
	end
	local host = wrk.headers["Host"]
	for line in io.lines(path) do
		local id, token, hw, ver = line:match("^(%S+) (%S+) (%S+) (%S+)$")
		if id == nil then
			error("ddi.lua: malformed line in " .. path)
		end
		n = n + 1
		local head = "/DEFAULT/controller/v1/" .. id
		if mode == "poll" then
			requests[n] = "GET " .. head .. " HTTP/1.1\r\nHost: " ..
			    host .. "\r\nAuthorization: TargetToken " .. token ..
			    "\r\n\r\n"
		else
			local body = '{"id":"","time":"20261121T120000",' ..
			    '"status":{"result":{"finished":"success"},' ..
			    '"execution":"closed","details":[""]},' ..
			    '"data":{"sw_version":"' .. ver ..
			    '","hw_revision":"' .. hw .. '"}}'
			requests[n] = "PUT " .. head .. "/configData HTTP/1.1" ..
			    "\r\nHost: " .. host ..
			    "\r\nAuthorization: TargetToken " .. token ..
			    "\r\nContent-Type: application/json" ..
			    "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
		end
	end
	if n == 0 then
		error("ddi.lua: no devices in " .. path)
	end
	stride = math.floor(n * 0.618) + 1
	while gcd(stride, n) ~= 1 do
		stride = stride + 1
	end
	local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1") or 1
	local t = tid or 0
	k = math.floor(t * n / nthreads)
	share = math.floor((t + 1) * n / nthreads) - k
	local dir = os.getenv("BENCH_DDI_DONE_DIR")
	if dir ~= nil and dir ~= "" then
		done_file = dir .. "/" .. t
	end
	devices = n
	s200, s204, s304, s401, s403, s404, sother = 0, 0, 0, 0, 0, 0, 0
	deploy, cancel, config = 0, 0, 0
end

local pace_ms = tonumber(os.getenv("BENCH_DDI_DELAY_MS") or "")
if pace_ms ~= nil then
	-- A fixed schedule, not a pause after each answer: request j of this
	-- thread is due at start + j * pace_ms / C (C: this thread's
	-- connections), however long the answers before it took, so the
	-- rate asked for is the rate offered while connections are free.
	-- wrk's Lua has no clock: LuaJIT's ffi reads CLOCK_MONOTONIC.
	local ffi = require("ffi")
	ffi.cdef [[
		struct bench_timespec { long tv_sec; long tv_nsec; };
		int clock_gettime(int clk, struct bench_timespec *ts);
	]]
	local ts = ffi.new("struct bench_timespec")
	local function now_ms()
		ffi.C.clock_gettime(1, ts)
		return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
	end
	local next_due = nil
	-- This thread's connections (ddi.sh: -c divided by -t).
	thread_conns = tonumber(os.getenv("BENCH_DDI_THREAD_CONNS") or "1")
	-- Defined only when pacing: wrk checks for delay() once per thread.
	function delay()
		local now = now_ms()
		local step = pace_ms / thread_conns
		if next_due == nil or next_due < now - pace_ms then
			next_due = now
		end
		local d = next_due - now
		next_due = next_due + step
		if d < 0 then
			return 0
		end
		return math.floor(d)
	end
end

function request()
	local r = requests[(k * stride) % n + 1]
	k = k + 1
	return r
end

function response(status, headers, body)
	if status == 200 then
		s200 = s200 + 1
		if body ~= nil and #body > 0 then
			if body:find('"deploymentBase"', 1, true) then
				deploy = deploy + 1
			end
			if body:find('"cancelAction"', 1, true) then
				cancel = cancel + 1
			end
			if body:find('"configData"', 1, true) then
				config = config + 1
			end
		end
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
	answers = answers + 1
	if done_file ~= nil and answers >= share then
		local f = io.open(done_file, "w")
		if f ~= nil then
			f:close()
		end
		done_file = nil
	end
end

function done(summary, latency, reqs)
	local e = summary.errors
	local names = { "s200", "s204", "s304", "s401", "s403", "s404",
	    "sother", "deploy", "cancel", "config" }
	local sum = {}
	for _, name in ipairs(names) do
		sum[name] = 0
	end
	local ndev = 0
	for _, t in ipairs(threads) do
		for _, name in ipairs(names) do
			sum[name] = sum[name] + (t:get(name) or 0)
		end
		ndev = t:get("devices") or ndev
	end
	io.write(string.format(
		"BENCH requests=%d bytes=%d duration_us=%d connect=%d read=%d " ..
		"write=%d status=%d timeout=%d p50_us=%d p99_us=%d s200=%d " ..
		"s204=%d s304=%d s401=%d s403=%d s404=%d sother=%d devices=%d " ..
		"deploy=%d cancel=%d config=%d\n",
		summary.requests, summary.bytes, summary.duration,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(99), sum.s200,
		sum.s204, sum.s304, sum.s401, sum.s403, sum.s404, sum.sother,
		ndev, sum.deploy, sum.cancel, sum.config))
end
