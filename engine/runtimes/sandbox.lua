-- Builds the environment a Lua plugin runs in. Called once per runtime, before any plugin code, with:
--   host(name, ...)  -> true, value | false, message   (the engine's dispatch)
--   expired()        -> true once the current call's deadline has passed
--   api              {group = {leaf, ...}}             (script_api's table, in its shape)
--   patterns         lua_patterns.lua: Lua's pattern matcher written in Lua
-- Returns the plugin environment, invoke(f, ...) used for every call from the host, and compile(text, name).
local host, expired, api, patterns = ...

local TIMEOUT = "foxplug: deadline exceeded"
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local sethook, traceback, true_getmetatable = debug.sethook, debug.traceback, debug.getmetatable
local raw_getmetatable, raw_setmetatable, raw_load, type, select = getmetatable, setmetatable, load, type, select
local co_create, co_resume = coroutine.create, coroutine.resume
local rawlen, tointeger, min = rawlen, math.tointeger, math.min
local utf8_len, plain_gsub = utf8.len, string.gsub

-- The count hook is per coroutine in Lua 5.4, so every coroutine the plugin creates gets it too.
-- One instruction can compare or pass along values as large as the heap (a == b on two 8 MB strings), so
-- with a large heap the hook comes more often: every 10000 instructions up to 1 MB, every 1000 from 10 MB.
-- (sethook walks the thread's whole call stack, so it is called only when a thread's pace changes.)
-- Asking the host takes the GIL, which other threads may hold for milliseconds, so the hook asks only once
-- the process has spent CHECK_EVERY seconds of CPU time since it last did (os.clock needs no GIL).
local HOOK_EVERY, CHECK_EVERY = 10000, 0.002
local raw_collect, running, clock, max, floor = collectgarbage, coroutine.running, os.clock, math.max, math.floor
local paces = setmetatable({}, { __mode = "k" })
local checked = -CHECK_EVERY
local function pace()
  local kilobytes = raw_collect("count")
  return kilobytes > 1024 and max(1000, floor(HOOK_EVERY * 1024 / kilobytes)) or HOOK_EVERY
end
local function hook()
  local now = clock()
  if now - checked >= CHECK_EVERY then
    checked = now
    if expired() then raw_error(TIMEOUT, 0) end
  end
  local thread, every = running(), pace()
  if paces[thread] ~= every then  -- also after a collection cycle below asked for a check
    paces[thread] = every
    sethook(hook, "", every)
  end
end
paces[running()] = HOOK_EVERY
sethook(hook, "", HOOK_EVERY)

-- The count hook sees instructions, not work: one instruction can copy megabytes (s .. s, string.rep, a full
-- collection), so 10000 of them can take seconds. Allocating that much runs garbage-collection cycles, and
-- every cycle runs this finalizer, which makes the hook check the deadline at the next instruction. (It cannot
-- raise the error itself, as Lua turns errors in finalizers into warnings, and it calls no Python: finalizers
-- also run while the host converts values and while the runtime closes.)
local gc_tick = {}
gc_tick.__gc = function()
  paces[running()] = 1
  sethook(hook, "", 1)
  raw_setmetatable({}, gc_tick)
end
raw_setmetatable({}, gc_tick)

-- C functions whose work grows with their input but allocates nothing (so no collection cycle follows) charge
-- that work here, and the deadline is checked every WORK_QUANTUM units, as the count hook would have.
local WORK_QUANTUM = 1 << 20
local work = 0
local function charge(units)
  if units > 0 then work = work + units end
  if work >= WORK_QUANTUM then
    work = 0
    hook()
  end
end
local function size(s) return type(s) == "string" and #s or 0 end
local function integer(v)  -- what luaL_checkinteger would make of v, or nil
  if v == nil then return nil end
  charge(size(v))
  return tointeger(tonumber(v) or v)
end
-- Wrappers call the C function as `through(name(...))`, not as a tail call, so its errors still read
-- "bad argument #1 to 'name'" (a tail-called C function loses its name).
local function through(...) return ... end

-- A deadline or out-of-memory error must not be swallowed: pcall, xpcall and resume re-raise them.
local function fatal(err)
  return err == TIMEOUT or err == "not enough memory" or expired()
end
local function guard(ok, ...)
  if not ok and fatal((...)) then raw_error((...), 0) end
  return ok, ...
end

local function copy(t, except)
  local out = {}
  for k, v in pairs(t) do if not (except and except[k]) then out[k] = v end end
  return out
end

-- The library tables are changed in place before the plugin's copies are taken: the real string table stays
-- reachable as the strings' metatable __index (("").find), so its functions are the guarded ones too.
string.dump = nil
python = nil

-- Lua patterns backtrack: string.find(("a"):rep(50000), ".-.-.-.-.-b") runs for years inside one C call.
-- The C matcher runs only when its worst case for this pattern and subject is short (NATIVE_STEPS); otherwise
-- lua_patterns.lua's copy of it runs, which the count hook can stop.
local NATIVE_STEPS = 1 << 22
local steps = patterns.steps
do
  local find, match, gmatch, gsub = string.find, string.match, string.gmatch, string.gsub
  local function costly(s, p, init, how)
    if type(s) ~= "string" or type(p) ~= "string" or (init ~= nil and not integer(init)) then return false end
    local cost = steps(#s, p, how)
    if cost > NATIVE_STEPS then return true end
    charge(cost)
    return false
  end
  string.find = function(s, p, init, plain)
    if costly(s, p, init, plain and "plain") then return patterns.find(s, p, integer(init), plain) end
    return through(find(s, p, init, plain))
  end
  string.match = function(s, p, init)
    if costly(s, p, init) then return patterns.match(s, p, integer(init)) end
    return through(match(s, p, init))
  end
  string.gmatch = function(s, p, init)
    if costly(s, p, init, "scan") then return patterns.gmatch(s, p, integer(init)) end
    return through(gmatch(s, p, init))
  end
  string.gsub = function(s, p, repl, n)
    local kind = type(repl)
    if (kind == "string" or kind == "number" or kind == "table" or kind == "function") and costly(s, p, n) then
      return patterns.gsub(s, p, repl, integer(n))
    end
    return through(gsub(s, p, repl, n))
  end
end

do
  local rep, byte, packsize, unpack = string.rep, string.byte, string.packsize, string.unpack
  -- string.rep("", 2^62) loops 2^62 times in C without allocating anything.
  string.rep = function(s, n, sep)
    if s == "" and (sep == nil or sep == "") and integer(n) then return "" end
    return through(rep(s, n, sep))
  end
  string.byte = function(s, i, j)
    if j ~= nil then charge(size(s)) end
    return through(byte(s, i, j))
  end
  string.packsize = function(fmt) charge(size(fmt)); return through(packsize(fmt)) end
  string.unpack = function(fmt, s, pos) charge(size(fmt)); return through(unpack(fmt, s, pos)) end
end

do
  local len, offset, codepoint = utf8.len, utf8.offset, utf8.codepoint
  utf8.len = function(s, i, j, lax) charge(size(s)); return through(len(s, i, j, lax)) end
  utf8.offset = function(s, n, i) charge(size(s)); return through(offset(s, n, i)) end
  utf8.codepoint = function(s, i, j, lax)
    if j ~= nil then charge(size(s)) end
    return through(codepoint(s, i, j, lax))
  end
end

do
  local sort, insert, remove, move, unpack = table.sort, table.insert, table.remove, table.move, table.unpack
  -- Large sorts compare in Lua, where the count hook sees them: sorting a million numbers in C takes 0.2 s.
  local SORT_IN_C, MOVE_CHUNK = 1 << 14, 1 << 16
  local function less(a, b) return a < b end
  table.sort = function(t, comp)
    if comp == nil and type(t) == "table" and rawlen(t) > SORT_IN_C then comp = less end
    return through(sort(t, comp))
  end
  -- insert and remove shift #t elements in C; a __len metamethod can claim 2^53 of them.
  -- (So with a __len metamethod they run in Lua, as the C code does.)
  local function lies_about_length(t)
    local mt = type(t) == "table" and true_getmetatable(t)
    return mt and rawget(mt, "__len") ~= nil
  end
  table.insert = function(t, ...)
    if not lies_about_length(t) or select("#", ...) ~= 2 then return through(insert(t, ...)) end
    local pos, value = ...
    local last, at = integer(#t), integer(pos)
    if not last or not at or at < 1 or at > last + 1 then return through(insert(t, pos, value)) end
    for i = last + 1, at + 1, -1 do t[i] = t[i - 1] end
    t[at] = value
  end
  table.remove = function(t, pos)
    if not lies_about_length(t) then return through(remove(t, pos)) end
    local last = integer(#t)
    local at = pos == nil and last or integer(pos)
    if not last or not at or (at ~= last and (at < 1 or at > last + 1)) then return through(remove(t, pos)) end
    local value = t[at]
    while at < last do
      t[at] = t[at + 1]
      at = at + 1
    end
    t[at] = nil
    return value
  end
  -- table.move({}, 1, 2^40, 1) copies nil to nil 2^40 times in C; big moves go in chunks, in the same order.
  table.move = function(a1, f, e, t, a2)
    local first, last, to = integer(f), integer(e), integer(t)
    if not (first and last and to) or last - first < MOVE_CHUNK or to > math.maxinteger - (last - first) then
      return through(move(a1, f, e, t, a2))
    end
    move(a1, 1, 0, 1, a2)  -- moves nothing: checks the tables as the full call would
    local dest = a2 == nil and a1 or a2
    local n = last - first + 1
    if to > last or to <= first or (a2 ~= nil and a1 ~= a2) then
      for i = 0, n - 1, MOVE_CHUNK do
        local count = min(MOVE_CHUNK, n - i)
        move(a1, first + i, first + i + count - 1, to + i, dest)
        charge(count)
      end
    else
      local i = n
      while i > 0 do
        local count = min(MOVE_CHUNK, i)
        i = i - count
        move(a1, first + i, first + i + count - 1, to + i, dest)
        charge(count)
      end
    end
    return dest
  end
  table.unpack = function(t, i, j)
    local from, to = integer(i) or 1, integer(j) or (type(t) == "table" and rawlen(t)) or 0
    if to > from then charge(to - from) end
    return through(unpack(t, i, j))
  end
end

local env = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, select = select,
  tostring = tostring, type = type, rawequal = rawequal, rawget = rawget,
  rawlen = rawlen, rawset = rawset, _VERSION = _VERSION,
  string = copy(string), table = copy(table), math = copy(math), utf8 = copy(utf8),
  os = { time = os.time, clock = os.clock, difftime = os.difftime },
}
env._G = env
do
  -- Each conversion in a format runs strftime: a megabyte of "%c" is one C call of seconds.
  local date = os.date
  env.os.date = function(format, time)
    if type(format) == "string" and #format > 4096 then
      raw_error("os.date: formats longer than 4096 bytes are not available to plugins", 2)
    end
    return through(date(format, time))
  end
end
do
  local tonumber, collectgarbage = tonumber, collectgarbage
  env.tonumber = function(v, base)
    charge(size(v))
    return through(tonumber(v, base))
  end
  -- Plugins may read their memory use and ask for a collection; stopping or retuning the collector would
  -- change how the memory limit and the checks above are paced.
  local allowed = { count = true, collect = true, step = true, isrunning = true }
  env.collectgarbage = function(option, ...)
    if option ~= nil and not allowed[option] then
      raw_error("collectgarbage('" .. tostring(option) .. "') is not available to plugins", 2)
    end
    return through(collectgarbage(option, ...))
  end
end
env.pcall = function(f, ...) return guard(raw_pcall(f, ...)) end
-- A deadline error is raised inside the count hook, and Lua runs the message handler before hooks are back
-- on, so a looping handler could never be stopped: fatal errors never reach plugin handlers.
env.xpcall = function(f, handler, ...)
  return guard(raw_xpcall(f, function(err)
    if fatal(err) then return err end
    return handler(err)
  end, ...))
end
-- Lua runs finalizers with hooks off, so a looping __gc could never be stopped: plugins get no finalizers.
env.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    raw_error("__gc metamethods are not available to plugins", 2)
  end
  return raw_setmetatable(t, mt)
end
env.getmetatable = function(v)
  if type(v) == "string" then return nil end
  return raw_getmetatable(v)
end
env.load = function(chunk, name, mode, chunk_env)
  if mode ~= nil and mode ~= "t" then return nil, "only text chunks may be loaded" end
  charge(size(chunk))
  return raw_load(chunk, name, "t", chunk_env or env)
end
local coroutine_lib = copy(coroutine)
coroutine_lib.create = function(f)
  local co, every = co_create(f), pace()
  paces[co] = every
  sethook(co, hook, "", every)
  return co
end
coroutine_lib.resume = function(co, ...) return guard(co_resume(co, ...)) end
coroutine_lib.wrap = function(f)
  local co = coroutine_lib.create(f)
  return function(...)
    local function unwrap(ok, ...)
      if not ok then raw_error((...), 0) end
      return ...
    end
    return unwrap(co_resume(co, ...))
  end
end
env.coroutine = coroutine_lib

local function call_host(name, ...)
  local ok, result = host(name, ...)
  if ok then return result end
  raw_error(result, 2)
end

local fox = {}
for group, leaves in pairs(api) do
  local ns = {}
  for _, leaf in ipairs(leaves) do
    local name = group .. "." .. leaf
    ns[leaf] = function(...) return call_host(name, ...) end
  end
  fox[group] = ns
end
-- JSON has objects and arrays, Lua only tables: an empty one is an array, unless made by fox.json.object().
local OBJECT = "\0foxplug:object"
fox.json.object = function(fields)
  local t = {[OBJECT] = true}
  for k, v in pairs(fields or {}) do t[k] = v end
  return t
end
env.fox = fox
env.print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  call_host("log.info", table.concat(parts, "\t"))
end

-- The host reads messages as UTF-8; a plugin's error("\xff") must not make them unreadable.
local function printable(text)
  if utf8_len(text) then return text end
  return (plain_gsub(text, "[\128-\255]", "?"))
end
local function on_error(err)
  if fatal(err) then return err end
  return printable(traceback(tostring(err), 2))
end
-- lupa decodes a string result as UTF-8 on the way out, where a bad one would raise in the host: say so instead.
local NOT_UTF8 = "foxplug: result is not valid UTF-8"
-- The second value carries Lua's own error idiom, `return nil, "rate limited"`, to the host.
local function settle(ok, value, reason)
  if ok and type(value) == "string" and not utf8_len(value) then return false, NOT_UTF8, nil end
  if ok and value == nil and type(reason) == "string" then return ok, value, printable(reason) end
  return ok, value, nil
end
local function invoke(f, ...)
  return settle(raw_xpcall(f, on_error, ...))
end
local function compile(text, name)
  local chunk, err = raw_load(text, name, "t", env)
  return chunk or false, err or false
end
return env, invoke, compile
