-- Builds the environment a Lua plugin runs in. Called once per runtime, before any plugin code, with:
--   host(name, ...)  -> true, value | false, message   (the engine's dispatch)
--   expired()        -> true once the current call's deadline has passed
--   api              {group = {leaf, ...}}             (script_api's table, in its shape)
-- Returns the plugin environment, invoke(f, ...) used for every call from the host, and compile(text, name).
local host, expired, api = ...

local TIMEOUT = "foxplug: deadline exceeded"
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local sethook, traceback = debug.sethook, debug.traceback
local raw_getmetatable, raw_setmetatable, raw_load, type, select = getmetatable, setmetatable, load, type, select
local co_create, co_resume, co_wrap = coroutine.create, coroutine.resume, coroutine.wrap

-- The count hook is per coroutine in Lua 5.4, so every coroutine the plugin creates gets it too.
local function hook()
  if expired() then raw_error(TIMEOUT, 0) end
end
local HOOK_EVERY = 10000
sethook(hook, "", HOOK_EVERY)

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

string.dump = nil  -- the real string table stays reachable through ("").dump, so remove it there
python = nil

local env = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, select = select,
  tonumber = tonumber, tostring = tostring, type = type, rawequal = rawequal, rawget = rawget,
  rawlen = rawlen, rawset = rawset, _VERSION = _VERSION,
  string = copy(string), table = copy(table), math = copy(math), utf8 = copy(utf8),
  os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime },
}
env._G = env
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
  return raw_load(chunk, name, "t", chunk_env or env)
end
local coroutine_lib = copy(coroutine)
coroutine_lib.create = function(f)
  local co = co_create(f)
  sethook(co, hook, "", HOOK_EVERY)
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
env.fox = fox
env.print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  call_host("log.info", table.concat(parts, "\t"))
end

local function on_error(err)
  if fatal(err) then return err end
  return traceback(tostring(err), 2)
end
local function first(ok, value) return ok, value end
local function invoke(f, ...)
  return first(raw_xpcall(f, on_error, ...))
end
local function compile(text, name)
  local chunk, err = raw_load(text, name, "t", env)
  return chunk or false, err or false
end
return env, invoke, compile
