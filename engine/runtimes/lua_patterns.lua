-- Lua's pattern matcher (lstrlib.c of Lua 5.4), written in Lua so that the count hook can stop it.
-- The C matcher backtracks: string.find(("a"):rep(50000), ".-.-.-.-.-b") runs for years inside one C call,
-- where no hook fires. sandbox.lua runs the C functions when `steps` says their worst case is short, and
-- these otherwise. Character classes are those of the "C" locale (ASCII), as the C matcher has under Python.
-- Returns {steps, find, match, gmatch, gsub}; errors are raised without a position (the traceback has it).
local byte, char, sub, native_find, native_gsub = string.byte, string.char, string.sub, string.find, string.gsub
local concat, unpack = table.concat, table.unpack
local type, tostring, error, huge = type, tostring, error, math.huge

local MAXCAPTURES, MAXCCALLS = 32, 200
local CAP_UNFINISHED, CAP_POSITION = -1, -2
local ESC, LBRACKET, RBRACKET, CARET, DASH = byte("%[]^-", 1, -1)
local LPAREN, RPAREN, DOLLAR, DOT, STAR, PLUS, QUESTION = byte("()$.*+?", 1, -1)
local LETTER_B, LETTER_F, ZERO, NINE = byte("bf09", 1, -1)

local function alpha(c) return (c >= 65 and c <= 90) or (c >= 97 and c <= 122) end
local function digit(c) return c >= 48 and c <= 57 end
local function alnum(c) return alpha(c) or digit(c) end
local CLASSES = {
  [97] = alpha,                                                                   -- %a
  [99] = function(c) return c < 32 or c == 127 end,                               -- %c
  [100] = digit,                                                                  -- %d
  [103] = function(c) return c >= 33 and c <= 126 end,                            -- %g
  [108] = function(c) return c >= 97 and c <= 122 end,                            -- %l
  [112] = function(c) return c >= 33 and c <= 126 and not alnum(c) end,           -- %p
  [115] = function(c) return c == 32 or (c >= 9 and c <= 13) end,                 -- %s
  [117] = function(c) return c >= 65 and c <= 90 end,                             -- %u
  [119] = alnum,                                                                  -- %w
  [120] = function(c) return digit(c) or (c >= 65 and c <= 70) or (c >= 97 and c <= 102) end, -- %x
  [122] = function(c) return c == 0 end,                                          -- %z (deprecated)
}

local function match_class(c, cl)
  local upper = cl >= 65 and cl <= 90
  local test = CLASSES[upper and cl + 32 or cl]
  if not test then return cl == c end
  if upper then return not test(c) end
  return test(c)
end

local function bracket_class(pat, c, p, ec)  -- p at '[', ec at its ']'
  local sig = true
  if byte(pat, p + 1) == CARET then sig = false; p = p + 1 end
  p = p + 1
  while p < ec do
    local pc = byte(pat, p)
    if pc == ESC then
      if match_class(c, byte(pat, p + 1)) then return sig end
      p = p + 2
    elseif byte(pat, p + 1) == DASH and p + 2 < ec then
      if pc <= c and c <= byte(pat, p + 2) then return sig end
      p = p + 3
    else
      if pc == c then return sig end
      p = p + 1
    end
  end
  return not sig
end

local function item_end(pat, plen, p)  -- where the item at p ends, or nil and why
  local c = byte(pat, p)
  p = p + 1
  if c == ESC then
    if p > plen then return nil, "malformed pattern (ends with '%')" end
    return p + 1
  elseif c == LBRACKET then
    if byte(pat, p) == CARET then p = p + 1 end
    repeat
      if p > plen then return nil, "malformed pattern (missing ']')" end
      local pc = byte(pat, p)
      p = p + 1
      if pc == ESC and p <= plen then p = p + 1 end
    until byte(pat, p) == RBRACKET
    return p + 1
  end
  return p
end

local function class_end(ms, p)
  local ep, why = item_end(ms.pat, ms.plen, p)
  if not ep then error(why, 0) end
  return ep
end

local function single_match(ms, s, p, ep)
  if s > ms.slen then return false end
  local c, pc = byte(ms.src, s), byte(ms.pat, p)
  if pc == DOT then return true
  elseif pc == ESC then return match_class(c, byte(ms.pat, p + 1))
  elseif pc == LBRACKET then return bracket_class(ms.pat, c, p, ep - 1)
  end
  return pc == c
end

-- Fast paths that keep this matcher near the C one's speed on ordinary work: the next byte an item matches,
-- or fails to match, is found by a native search for that one item, which is linear. A character is found
-- with a plain search (memchr); a class only in subjects up to SCAN_LIMIT bytes, so no native call runs long.
local SCAN_LIMIT = 1 << 20

local function fast_item(ms, p, ep)  -- {any} | {find, plain?, miss?} | false, cached per pattern position
  local info = ms.fast[p]
  if info ~= nil then return info end
  local pat, pc = ms.pat, byte(ms.pat, p)
  local text, small = sub(pat, p, ep - 1), ms.slen <= SCAN_LIMIT
  info = false
  if pc == DOT then
    info = { any = true }
  elseif pc ~= ESC and pc ~= LBRACKET then
    info = { find = text, plain = true, miss = small and "[^" .. (alnum(pc) and text or "%" .. text) .. "]" }
  elseif small and ep - p <= 12 then
    local miss
    if pc == ESC then
      local cl = byte(pat, p + 1)
      local upper = cl >= 65 and cl <= 90
      if CLASSES[upper and cl + 32 or cl] then miss = "%" .. char(upper and cl + 32 or cl - 32)
      else miss = "[^" .. text .. "]" end
    elseif byte(pat, p + 1) == CARET then
      miss = "[" .. sub(text, 3)
    else
      miss = "[^" .. sub(text, 2)
    end
    info = { find = text, miss = miss }
  end
  ms.fast[p] = info
  return info
end

local function next_match(ms, info, s)  -- first position >= s the item matches, or nil
  if info.any then return s <= ms.slen and s or nil end
  return native_find(ms.src, info.find, s, info.plain)
end

local function next_miss(ms, info, s)  -- first position >= s the item does not match (slen + 1 past the end)
  if info.any then return ms.slen + 1 end
  return native_find(ms.src, info.miss, s) or ms.slen + 1
end

local function must_item(ms, p)  -- fast info of the item the pattern from p must match first, or false
  local info = ms.must[p]
  if info ~= nil then return info end
  local q = p
  while byte(ms.pat, q) == LPAREN or byte(ms.pat, q) == RPAREN do q = q + 1 end
  local c, d = byte(ms.pat, q, q + 1)
  info = false
  if c and not (c == ESC and (d == LETTER_B or d == LETTER_F or (d and d >= ZERO and d <= NINE))) then
    local ep = item_end(ms.pat, ms.plen, q)
    local suffix = ep and byte(ms.pat, ep)
    if ep and suffix ~= STAR and suffix ~= QUESTION and suffix ~= DASH and not (c == DOLLAR and q == ms.plen) then
      info = fast_item(ms, q, ep)
      if info and not (info.any or info.find) then info = false end
    end
  end
  ms.must[p] = info
  return info
end

local do_match

local function max_expand(ms, s, p, ep)
  local i = 0
  local info = fast_item(ms, p, ep)
  if info and (info.any or info.miss) then
    i = next_miss(ms, info, s) - s
  else
    while single_match(ms, s + i, p, ep) do i = i + 1 end
  end
  while i >= 0 do
    local res = do_match(ms, s + i, ep + 1)
    if res then return res end
    i = i - 1
  end
  return nil
end

local function min_expand(ms, s, p, ep)
  local info, rest = fast_item(ms, p, ep), must_item(ms, ep + 1)
  if info and rest and (info.any or info.miss) then  -- the rest can only match where its first item does
    local last = next_miss(ms, info, s)
    local res = do_match(ms, s, ep + 1)  -- tried as C does, so a malformed rest fails the same way
    if res then return res end
    s = s + 1
    while s <= last do
      local q = next_match(ms, rest, s)
      if not q or q > last then return nil end
      local res = do_match(ms, q, ep + 1)
      if res then return res end
      s = q + 1
    end
    return nil
  end
  while true do
    local res = do_match(ms, s, ep + 1)
    if res then return res end
    if not single_match(ms, s, p, ep) then return nil end
    s = s + 1
  end
end

local function start_capture(ms, s, p, what)
  local level = ms.level
  if level >= MAXCAPTURES then error("too many captures", 0) end
  level = level + 1
  ms.init[level], ms.len[level], ms.level = s, what, level
  local res = do_match(ms, s, p)
  if res == nil then ms.level = ms.level - 1 end
  return res
end

local function end_capture(ms, s, p)
  local l = ms.level
  while l >= 1 and ms.len[l] ~= CAP_UNFINISHED do l = l - 1 end
  if l < 1 then error("invalid pattern capture", 0) end
  ms.len[l] = s - ms.init[l]
  local res = do_match(ms, s, p)
  if res == nil then ms.len[l] = CAP_UNFINISHED end
  return res
end

local function match_balance(ms, s, p)
  if p >= ms.plen then error("malformed pattern (missing arguments to '%b')", 0) end
  local open, close = byte(ms.pat, p, p + 1)
  if (byte(ms.src, s) or 0) ~= open then return nil end
  local depth = 1
  for i = s + 1, ms.slen do
    local c = byte(ms.src, i)
    if c == close then
      depth = depth - 1
      if depth == 0 then return i + 1 end
    elseif c == open then
      depth = depth + 1
    end
  end
  return nil
end

local function match_capture(ms, s, l)
  if l < 1 or l > ms.level or ms.len[l] == CAP_UNFINISHED then error("invalid capture index %" .. l, 0) end
  local init, len = ms.init[l], ms.len[l]
  if len >= 0 and ms.slen - s + 1 >= len and sub(ms.src, init, init + len - 1) == sub(ms.src, s, s + len - 1) then
    return s + len
  end
  return nil
end

function do_match(ms, s, p)
  if ms.depth == 0 then error("pattern too complex", 0) end
  ms.depth = ms.depth - 1
  local pat, plen = ms.pat, ms.plen
  while p <= plen do
    local pc, nc = byte(pat, p, p + 1)
    if pc == LPAREN then
      if nc == RPAREN then s = start_capture(ms, s, p + 2, CAP_POSITION)
      else s = start_capture(ms, s, p + 1, CAP_UNFINISHED) end
      break
    elseif pc == RPAREN then
      s = end_capture(ms, s, p + 1)
      break
    elseif pc == DOLLAR and p == plen then
      if s ~= ms.slen + 1 then s = nil end
      break
    elseif pc == ESC and nc == LETTER_B then
      s = match_balance(ms, s, p + 2)
      if s == nil then break end
      p = p + 4
    elseif pc == ESC and nc == LETTER_F then
      p = p + 2
      if byte(pat, p) ~= LBRACKET then error("missing '[' after '%f' in pattern", 0) end
      local ep = class_end(ms, p)
      local previous = s == 1 and 0 or byte(ms.src, s - 1)
      if bracket_class(pat, previous, p, ep - 1) or not bracket_class(pat, byte(ms.src, s) or 0, p, ep - 1) then
        s = nil
        break
      end
      p = ep
    elseif pc == ESC and nc and nc >= ZERO and nc <= NINE then
      s = match_capture(ms, s, nc - ZERO)
      if s == nil then break end
      p = p + 2
    else
      local ep = class_end(ms, p)
      local suffix = byte(pat, ep)
      if not single_match(ms, s, p, ep) then
        if suffix ~= STAR and suffix ~= QUESTION and suffix ~= DASH then s = nil; break end
        p = ep + 1
      elseif suffix == QUESTION then
        local res = do_match(ms, s + 1, ep + 1)
        if res then s = res; break end
        p = ep + 1
      elseif suffix == PLUS then s = max_expand(ms, s + 1, p, ep); break
      elseif suffix == STAR then s = max_expand(ms, s, p, ep); break
      elseif suffix == DASH then s = min_expand(ms, s, p, ep); break
      else s, p = s + 1, ep
      end
    end
  end
  ms.depth = ms.depth + 1
  return s
end

local function state(src, pat)
  local ms = { src = src, slen = #src, pat = pat, plen = #pat, level = 0, depth = MAXCCALLS, init = {}, len = {} }
  ms.fast, ms.must = {}, {}
  return ms
end

local function reset(ms)
  ms.level, ms.depth = 0, MAXCCALLS
end

local function capture(ms, i, s, e)
  if i > ms.level then
    if i ~= 1 then error("invalid capture index %" .. i, 0) end
    return sub(ms.src, s, e - 1)
  end
  local len = ms.len[i]
  if len == CAP_UNFINISHED then error("unfinished capture", 0) end
  if len == CAP_POSITION then return ms.init[i] end
  return sub(ms.src, ms.init[i], ms.init[i] + len - 1)
end

local function captures(ms, s, e)  -- the captures, or the whole match when there are none (nothing for find)
  local n = (ms.level == 0 and s) and 1 or ms.level
  if n == 1 then return capture(ms, 1, s, e) end
  local out = {}
  for i = 1, n do out[i] = capture(ms, i, s, e) end
  return unpack(out, 1, n)
end

local function start(init, len)  -- posrelatI
  if init > 0 then return init elseif init == 0 or init < -len then return 1 end
  return len + init + 1
end

local function has_specials(p)
  return native_find(p, "[%^%$%*%+%?%.%(%[%%%-]") ~= nil
end

local function literal(p)  -- a pattern matching exactly the text p
  return (native_gsub(p, "%W", "%%%0"))
end

-- The most steps the C matcher can take on a subject of n bytes, over all start positions. From one start:
-- a quantified item (*, +, -) tries the rest of the pattern at up to n+1 places, `?` at two, %b and
-- back-references scan up to n bytes, any other item is one step; but a rest that cannot fail (only captures
-- and items that may match nothing) is tried once. A pattern whose first item matches one character and whose
-- rest cannot fail is linear (each attempt fails at once or consumes what it scans: "[^,]+", "(%d+)").
-- Malformed patterns cost `huge`, so the Lua matcher reports them wherever the C one would have reached them.
local PAREN, FIXED, CHAR, MANY, SOME, MAYBE = 0, 1, 2, 3, 4, 5  -- SOME: x+, which can fail
local function shape(p, anchored)  -- {kind, size, ...}; size -1 stands for n
  local plen = #p
  local items = {}
  local i = anchored and 2 or 1
  while i <= plen do
    local c, d = byte(p, i, i + 1)
    local kind, size, ep = CHAR, nil, nil
    if c == LPAREN or c == RPAREN then
      kind, size, ep = PAREN, 1, i + 1
    elseif c == DOLLAR and i == plen then
      kind, size, ep = FIXED, 1, i + 1
    elseif c == ESC and d == LETTER_B then
      if i + 3 > plen then return nil end
      kind, size, ep = FIXED, -1, i + 4
    elseif c == ESC and d and d >= ZERO and d <= NINE then
      kind, size, ep = FIXED, -1, i + 2
    elseif c == ESC and d == LETTER_F then
      if byte(p, i + 2) ~= LBRACKET then return nil end
      ep = item_end(p, plen, i + 2)
      if not ep then return nil end
      kind, size = FIXED, ep - i
    else
      ep = item_end(p, plen, i)
      if not ep then return nil end
      size = ep - i
      local q = byte(p, ep)
      if q == STAR or q == DASH then kind = MANY
      elseif q == PLUS then kind = SOME
      elseif q == QUESTION then kind = MAYBE
      end
      if kind ~= CHAR then ep = ep + 1 end
    end
    items[#items + 1], items[#items + 2] = kind, size
    i = ep
  end
  return items
end

-- The fold below, once per pattern, as a bound c * (n+1)^d (c sums the polynomial's coefficients); `how` is
-- "plain" for a plain find and "scan" for gmatch (which reads a leading ^ as a character).
local function bound(p, anchored)
  local items = shape(p, anchored)
  if not items then return huge, 0 end
  local poly, deg = { [0] = 1 }, 0  -- poly[k]: coefficient of (n+1)^k
  local function add(k, size)  -- size -1 stands for n, which is below n+1
    if size < 0 then k, size = k + 1, 1 end
    for i = deg + 1, k do poly[i] = 0 end
    if k > deg then deg = k end
    poly[k] = poly[k] + size
  end
  local function times(factor, shift)
    for k = deg, 0, -1 do poly[k + shift] = poly[k] * factor end
    for k = 0, shift - 1 do poly[k] = 0 end
    deg = deg + shift
  end
  local sure, linear = true, false  -- sure: the rest cannot fail
  for j = #items - 1, 1, -2 do
    local kind, size = items[j], items[j + 1]
    if kind ~= PAREN then linear = sure and kind ~= FIXED end
    if kind == PAREN then add(0, size)
    elseif kind == FIXED or kind == CHAR then add(0, size); sure = false
    elseif kind == MAYBE then
      if not sure then times(2, 0) end
      add(0, size)
    elseif sure then add(1, size); sure = kind == MANY
    else add(0, size); times(1, 1)
    end
  end
  if linear then add(1, #p + 1); times(2, 0)
  elseif not anchored then times(1, 1)
  end
  local c = 0
  for k = 0, deg do c = c + poly[k] end
  return c, deg
end

local caches = { find = { {}, {}, 0 }, scan = { {}, {}, 0 } }  -- per mode: c by pattern, d by pattern, count
local function steps(n, p, how)
  if how == "plain" then return (n + 1) * (#p + 1) end
  local cache = caches[how == "scan" and "scan" or "find"]
  local c, d = cache[1][p], cache[2][p]
  if c == nil then
    if has_specials(p) then c, d = bound(p, how ~= "scan" and byte(p, 1) == CARET) else c, d = #p + 1, 1 end
    if cache[3] >= 256 then cache[1], cache[2], cache[3] = {}, {}, 0 end
    cache[1][p], cache[2][p], cache[3] = c, d, cache[3] + 1
  end
  return c * (n + 1) ^ d
end

local function find_aux(find, s, p, init, plain)
  local ls = #s
  init = start(init or 1, ls)
  if init > ls + 1 then return nil end
  if find and (plain or not has_specials(p)) then p = literal(p) end
  local anchor = byte(p, 1) == CARET
  local ms = state(s, p)
  local first = not anchor and must_item(ms, 1)
  local s1 = init
  while s1 <= ls + 1 do
    if first and s1 > init then  -- (the first place is tried as C does, so malformed patterns fail the same way)
      s1 = next_match(ms, first, s1)
      if not s1 then break end
    end
    reset(ms)
    local e = do_match(ms, s1, anchor and 2 or 1)
    if e then
      if find then return s1, e - 1, captures(ms, nil, nil) end
      return captures(ms, s1, e)
    end
    if anchor then break end
    s1 = s1 + 1
  end
  return nil
end

local function find(s, p, init, plain) return find_aux(true, s, p, init, plain) end
local function match(s, p, init) return find_aux(false, s, p, init) end

local function gmatch(s, p, init)
  local ls = #s
  init = start(init or 1, ls)
  if init > ls + 1 then init = ls + 2 end
  local ms, from, last = state(s, p), init, nil
  local first = must_item(ms, 1)
  return function()
    local src = from
    while src <= ls + 1 do
      if first and src > from then
        src = next_match(ms, first, src)
        if not src then break end
      end
      reset(ms)
      local e = do_match(ms, src, 1)
      if e and e ~= last then
        from, last = e, e
        return captures(ms, src, e)
      end
      src = src + 1
    end
    return nil
  end
end

local function add_text(ms, out, s, e, text)  -- a replacement string with %0-%9 and %%
  local i, n = 1, #text
  while i <= n do
    local at = native_find(text, "%", i, true)
    if not at then out[#out + 1] = sub(text, i); break end
    out[#out + 1] = sub(text, i, at - 1)
    local d = byte(text, at + 1)
    if d == ESC then out[#out + 1] = "%"
    elseif d == ZERO then out[#out + 1] = sub(ms.src, s, e - 1)
    elseif d and d > ZERO and d <= NINE then out[#out + 1] = tostring(capture(ms, d - ZERO, s, e))
    else error("invalid use of '%' in replacement string", 0)
    end
    i = at + 2
  end
end

local function gsub(src, p, repl, max_n)
  local kind = type(repl)
  local anchor = byte(p, 1) == CARET
  local ms = state(src, p)
  local out, n, changed, last, pos, kept = {}, 0, false, nil, 1, 1
  local first = not anchor and must_item(ms, 1)
  max_n = max_n or #src + 1
  if kind == "number" then repl = tostring(repl) end
  while n < max_n do
    reset(ms)
    local e = do_match(ms, pos, anchor and 2 or 1)
    if e and e ~= last then
      n = n + 1
      out[#out + 1] = sub(src, kept, pos - 1)
      if kind == "function" or kind == "table" then
        local value
        if kind == "function" then value = repl(captures(ms, pos, e)) else value = repl[capture(ms, 1, pos, e)] end
        if not value then
          out[#out + 1] = sub(src, pos, e - 1)
        elseif type(value) == "string" or type(value) == "number" then
          out[#out + 1], changed = tostring(value), true
        else
          error("invalid replacement value (a " .. type(value) .. ")", 0)
        end
      else
        add_text(ms, out, pos, e, repl)
        changed = true
      end
      pos, last, kept = e, e, e
    elseif pos <= ms.slen then
      pos = first and next_match(ms, first, pos + 1) or pos + 1
    else
      break
    end
    if anchor then break end
  end
  if not changed then return src, n end
  out[#out + 1] = sub(src, kept)
  return concat(out), n
end

return { steps = steps, find = find, match = match, gmatch = gmatch, gsub = gsub }
