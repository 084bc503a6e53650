-- Argo CD health of a dbtopo Federation (dbtopo.dev/v1alpha1): the spread shards of one topology,
-- whose primaries the federation manager decides (status.shards[], field manager
-- dbtopo-federation). Healthy only when every shard of spec.shards has a status entry in state
-- Healthy with a primary. A shard in SplitBrain or Degraded makes the Federation Degraded (a
-- SplitBrain first); Bootstrapping, FailingOver, Waiting or no entry yet make it Progressing.
-- Messages name the shard, its state, its primary and the manager's reason. Written for gopher-lua
-- (Lua 5.1) without the string library.
local hs = {}

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the federation manager to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the federation manager to observe generation " .. tostring(generation)
  if observed ~= nil then
    hs.message = hs.message .. " (observed " .. tostring(observed) .. ")"
  end
  return hs
end

local byName = {}
if obj.status.shards ~= nil then
  for _, s in ipairs(obj.status.shards) do
    if s.name ~= nil then
      byName[s.name] = s
    end
  end
end

local function primaryOf(s)
  if s.primary == nil or s.primary.pod == nil then
    return nil
  end
  if s.primary.memberCluster ~= nil and s.primary.memberCluster ~= "" then
    return s.primary.memberCluster .. "/" .. s.primary.pod
  end
  return s.primary.pod
end

-- "<shard> <state>, primary <member-cluster>/<pod>: <message>"
local function describe(name, s)
  local text = name .. " " .. tostring(s.state)
  local p = primaryOf(s)
  if p ~= nil then
    text = text .. ", primary " .. p
  end
  if s.message ~= nil and s.message ~= "" then
    text = text .. ": " .. s.message
  end
  return text
end

local splitBrain = {}
local degraded = {}
local progressing = {}
local healthy = {}
local total = 0
local shards = {}
if obj.spec ~= nil and obj.spec.shards ~= nil then
  shards = obj.spec.shards
end
for _, shard in ipairs(shards) do
  total = total + 1
  local s = byName[shard.name]
  if s == nil then
    progressing[#progressing + 1] = shard.name .. ": no status from the federation manager yet"
  elseif s.state == "SplitBrain" then
    splitBrain[#splitBrain + 1] = describe(shard.name, s)
  elseif s.state == "Degraded" then
    degraded[#degraded + 1] = describe(shard.name, s)
  elseif s.state == "Healthy" and primaryOf(s) ~= nil then
    healthy[#healthy + 1] = shard.name .. " primary " .. primaryOf(s)
  elseif s.state == "Healthy" then
    progressing[#progressing + 1] = shard.name .. " Healthy but no primary recorded yet"
  else
    -- Bootstrapping, FailingOver, Waiting, or a state this check does not know yet
    progressing[#progressing + 1] = describe(shard.name, s)
  end
end

-- The first verdict with a shard in it wins: a split brain over a degraded shard, both over one
-- still on its way; Healthy when every shard is.
local verdicts = {
  { splitBrain, "Degraded", "in split brain" },
  { degraded, "Degraded", "degraded" },
  { progressing, "Progressing", "not healthy yet" },
  { healthy, "Healthy", "healthy" },
}
for _, v in ipairs(verdicts) do
  local list = v[1]
  if #list > 0 or v[2] == "Healthy" then
    hs.status = v[2]
    hs.message = tostring(#list) .. "/" .. tostring(total) .. " shards " .. v[3] .. ": " .. table.concat(list, "; ")
    return hs
  end
end
