-- Lua's standard libraries — string, table, math, io (with file I/O) and os — run by
-- lua_driver with a scratch directory as arg[1]. Prints what it computes (compared between
-- the host and the VM) and checks itself with assert.
local dir = assert(arg[1], "usage: stdlib.lua SCRATCH_DIR")

print("-- string")
local s = "Hello, Kiln! 123 and 4.5"
print(#s, s:upper(), s:lower(), s:rep(2, "|"))
print(s:find("Kiln"), s:match("(%d+) and ([%d.]+)"))
print((s:gsub("%a+", function(w) return w:reverse() end)))
print(string.format("%5d|%-5s|%08.3f|%x|%q|%g", 42, "ab", math.pi, 255, "a\nb", 1e20))
print(string.byte("ABC", 1, -1), string.char(72, 105))
local words = {}
for w in ("the quick brown fox"):gmatch("%a+") do words[#words + 1] = w end
print(table.concat(words, ","))
print(("%s=%d"):format("x", 7), utf8.char(72, 228, 8364), utf8.len("häh"))
print(string.pack("<i4", 1000):byte(1, -1))

print("-- table")
local t = {5, 3, 9, 1, 7}
table.sort(t)
print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " "))
table.insert(t, 1, 100)
table.insert(t, 42)
print(table.remove(t), table.remove(t, 1), #t, table.unpack(t))
print(table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ","))
local keys = {}
for k in pairs({alpha = 1, beta = 2, gamma = 3}) do keys[#keys + 1] = k end
table.sort(keys)
print(table.concat(keys, " "))

print("-- math")
print(math.floor(3.7), math.ceil(3.2), math.abs(-4), math.max(1, 9, 3), math.min(2, -1))
print(math.sqrt(2), math.sin(1), math.exp(1), math.log(100, 10), math.fmod(7, 3))
print(math.tointeger(3.0), math.type(1), math.type(1.0), 7 // 2, 7 % -3, 2 ^ 10)
print(math.maxinteger, math.mininteger, math.huge, -math.huge)
math.randomseed(42)
local r = {}
for i = 1, 5 do r[i] = math.random(1, 1000) end
print(table.concat(r, " "))
print(string.format("%.17g", 0.1 + 0.2), 1 / 3, 1e300 * 1e10)

print("-- io")
local path = dir .. "/lua-io-test.txt"
local f = assert(io.open(path, "w"))
for i = 1, 1000 do f:write(string.format("line %04d %s\n", i, ("x"):rep(i % 17))) end
assert(f:close())
f = assert(io.open(path, "r"))
local count, total = 0, 0
for line in f:lines() do
  count = count + 1
  total = total + #line
end
f:close()
print(count, total)
f = assert(io.open(path, "a+"))
f:write("appended\n")
f:seek("set", 0)
print(f:read("l"), f:read(4), f:read("n"))
print(f:seek("end"))
f:close()
f = assert(io.open(path, "rb"))
local all = f:read("a")
f:close()
print(#all, all:sub(-9, -2))
f = assert(io.open(path, "r+"))
f:seek("set", 5)
f:write("ABCD")
f:close()
for line in io.lines(path) do print(line) break end
print(select(3, io.open(dir .. "/missing/nope.txt", "r")))
print(io.type(io.stdout), io.type(f), io.type(42))
io.write("io.write works", "\n")

print("-- os")
local tmp = dir .. "/lua-renamed.txt"
assert(os.rename(path, tmp))
print(io.open(path) == nil, os.remove(tmp), os.remove(tmp) == nil)
print(os.time({year = 2024, month = 2, day = 29, hour = 12}))
print(os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365))
print(type(os.clock()), type(os.time()), os.getenv("KILN_NO_SUCH_VARIABLE"))
print(os.difftime(10, 4))
local name = os.tmpname()
print(type(name))
os.remove(name)
print("done")
