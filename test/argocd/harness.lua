-- Runs an Argo CD health check the way Argo CD does: the live object in the global `obj`, the
-- script's return value is the health. Usage: lua5.1 harness.lua <object.lua> <health.lua>
-- The object file returns the object as a table. dbtopo's checks must run without the string
-- library, so it is removed before the check runs (both `string.x` and ("s"):x() forms).
local objectFile, checkFile = arg[1], arg[2]
obj = assert(loadfile(objectFile))()
local check = assert(loadfile(checkFile))
local strmeta = getmetatable("")
local saved = strmeta.__index
string = nil
strmeta.__index = nil
local ok, hs = pcall(check)
strmeta.__index = saved
if not ok then
  io.stderr:write("health check failed: " .. tostring(hs) .. "\n")
  os.exit(2)
end
if type(hs) ~= "table" then
  io.stderr:write("health check returned " .. type(hs) .. ", not a table\n")
  os.exit(2)
end
io.write(tostring(hs.status) .. "\n" .. tostring(hs.message) .. "\n")
