-- events.lua: the wrk script of bench/events.sh: batches of update events
-- POSTed by many devices, each request with that device's own token.
--
-- Environment:
--   BENCH_DEVICES  file of lines "ID TOKEN ..." (mode 0600, written by
--                  events.sh: the tokens never appear on a command line)
--   BENCH_ROLLOUT, BENCH_VERSION  the rollout the events report on
--   BENCH_BATCH    events per request (1..1000, default 100)
--   BENCH_TAG      prefix of every event_id of this run ([A-Za-z0-9])
--   BENCH_ACKED    path prefix: thread t appends to BENCH_ACKED.t one line
--                  per acknowledged request (see response())
--   BENCH_WRK_THREADS  wrk's -t, to spread the threads over the devices
--
-- Request k of thread t is for device number (k * STRIDE + offset) mod N
-- (a permutation, as in polls.lua):
--
--   POST /api/v1/devices/ID/events
--   Authorization: Bearer TOKEN
--   [{"event_id":"TAG-t-k-0","rollout":R,"version":V,"state":"started",
--     "ts":...}, {"event_id":"TAG-t-k-1",...,"state":"progress",
--     "progress":1,...}, ..., {...,"state":"completed",...}]
--
-- so every event_id is unique and "TAG-t-k" names the request.
--
-- response() reads the answer's counts ("accepted", "duplicates",
-- "rejected") and the first event_id of its "results", which names the
-- request it answers; for a 200 it appends "TAG-t-k ID accepted duplicates
-- rejected" to BENCH_ACKED.t: the events otad acknowledged, which
-- events.sh then looks for in the database.  done() prints one line for
-- bench/lib.sh's wrk_run:
--
--   BENCH requests=N bytes=N duration_us=N connect=N read=N write=N
--         status=N timeout=N p50_us=N p99_us=N s200=N sother=N
--         accepted=N duplicates=N rejected=N unparsed=N
--
-- status counts responses that were not 2xx or 3xx (wrk's own count);
-- unparsed counts 200 answers whose counts or first event_id could not be
-- read (the script treats them as a failure).

local threads = {}
local next_tid = 0

function setup(thread)
	thread:set("tid", next_tid)
	next_tid = next_tid + 1
	table.insert(threads, thread)
end

local devices = {}
local n = 0
local k = 0
local off = 0
local stride = 1
local batch = 100
local prefix = ""
local head = ""
local mids = {}
local pending = {}
local acked_file = nil

local function gcd(a, b)
	while b ~= 0 do
		a, b = b, a % b
	end
	return a
end

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		if default == nil then
			error("events.lua: " .. name .. " is not set")
		end
		return default
	end
	return v
end

function init(args)
	local path = env("BENCH_DEVICES")
	local rollout = tonumber(env("BENCH_ROLLOUT"))
	local version = env("BENCH_VERSION")
	local tag = env("BENCH_TAG")
	batch = tonumber(env("BENCH_BATCH", "100"))
	if rollout == nil or batch == nil or batch < 1 or batch > 1000 then
		error("events.lua: bad BENCH_ROLLOUT or BENCH_BATCH")
	end
	for line in io.lines(path) do
		local id, token = line:match("^(%S+) (%S+)")
		if id == nil then
			error("events.lua: malformed line in " .. path)
		end
		n = n + 1
		devices[n] = { "POST /api/v1/devices/" .. id .. "/events" ..
		    " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
		    "\r\nAuthorization: Bearer " .. token ..
		    "\r\nContent-Type: application/json\r\nContent-Length: ", id }
	end
	if n == 0 then
		error("events.lua: no devices in " .. path)
	end
	stride = math.floor(n * 0.618) + 1
	while gcd(stride, n) ~= 1 do
		stride = stride + 1
	end
	local nthreads = tonumber(env("BENCH_WRK_THREADS", "1")) or 1
	off = math.floor((tid or 0) * n / nthreads)
	prefix = tag .. "-" .. (tid or 0) .. "-"
	-- Event i of a request is head .. "TAG-t-k" .. mids[i]: the rest of
	-- the object, precomputed.
	local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
	local common = '","rollout":' .. rollout .. ',"version":"' ..
	    version .. '","state":"'
	head = '{"event_id":"'
	for i = 0, batch - 1 do
		local s
		if i == 0 then
			s = 'started"'
		elseif i == batch - 1 then
			s = 'completed"'
		else
			s = 'progress","progress":' .. (i % 101)
		end
		mids[i + 1] = "-" .. i .. common .. s .. ',"ts":"' .. ts .. '"}'
	end
	acked_file = assert(io.open(env("BENCH_ACKED") .. "." .. (tid or 0),
	    "w"))
	s200, sother, accepted, duplicates, rejected, unparsed = 0, 0, 0, 0,
	    0, 0
end

function request()
	local d = devices[(k * stride + off) % n + 1]
	local name = prefix .. k
	k = k + 1
	local parts = {}
	for i = 1, batch do
		parts[i] = head .. name .. mids[i]
	end
	local body = "[" .. table.concat(parts, ",") .. "]"
	pending[name] = d[2]
	return d[1] .. #body .. "\r\n\r\n" .. body
end

function response(status, headers, body)
	if status ~= 200 then
		sother = sother + 1
		return
	end
	s200 = s200 + 1
	local a = tonumber(body:match('"accepted":%s*(%d+)'))
	local du = tonumber(body:match('"duplicates":%s*(%d+)'))
	local r = tonumber(body:match('"rejected":%s*(%d+)'))
	local first = body:match('"event_id":%s*"([^"]+)%-0"')
	local dev = first and pending[first]
	if a == nil or du == nil or r == nil or dev == nil then
		unparsed = unparsed + 1
		return
	end
	pending[first] = nil
	accepted = accepted + a
	duplicates = duplicates + du
	rejected = rejected + r
	acked_file:write(first, " ", dev, " ", a, " ", du, " ", r, "\n")
end

function done(summary, latency, reqs)
	local e = summary.errors
	local sum = { s200 = 0, sother = 0, accepted = 0, duplicates = 0,
	    rejected = 0, unparsed = 0 }
	for _, t in ipairs(threads) do
		for name, _ in pairs(sum) do
			sum[name] = sum[name] + (t:get(name) or 0)
		end
	end
	io.write(string.format(
		"BENCH requests=%d bytes=%d duration_us=%d connect=%d read=%d " ..
		"write=%d status=%d timeout=%d p50_us=%d p99_us=%d s200=%d " ..
		"sother=%d accepted=%d duplicates=%d rejected=%d unparsed=%d\n",
		summary.requests, summary.bytes, summary.duration,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(99), sum.s200,
		sum.sother, sum.accepted, sum.duplicates, sum.rejected,
		sum.unparsed))
end
