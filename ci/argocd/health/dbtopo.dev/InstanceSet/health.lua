-- Argo CD health of a dbtopo InstanceSet (dbtopo.dev/v1alpha1): the controller has observed the
-- latest spec, every pod runs the latest template and is ready, and servers with roles have
-- exactly one primary. Written for gopher-lua (Lua 5.1) without the string library.
local hs = {}

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the dbtopo controller to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the dbtopo controller to observe generation " .. tostring(generation)
  if observed ~= nil then
    hs.message = hs.message .. " (observed " .. tostring(observed) .. ")"
  end
  return hs
end

local spec = obj.spec or {}
if spec.paused == true then
  hs.status = "Suspended"
  hs.message = "Paused: spec.paused is set, pods are not changed"
  return hs
end

local replicas = spec.replicas
if replicas == nil then
  replicas = 1
end
local ready = obj.status.readyReplicas or 0
local updated = obj.status.updatedReplicas or 0
local counts = tostring(ready) .. "/" .. tostring(replicas) .. " pods ready"

-- Two pods claiming the primary role is a split brain, whatever else is going on.
local primaries = {}
local probed = 0
if obj.status.membersStatus ~= nil then
  for _, m in ipairs(obj.status.membersStatus) do
    if m.role ~= nil then
      probed = probed + 1
    end
    if m.role == "primary" then
      primaries[#primaries + 1] = m.podName
    end
  end
end
if #primaries > 1 then
  hs.status = "Degraded"
  hs.message = tostring(#primaries) .. " pods report the primary role: " .. table.concat(primaries, ", ")
  return hs
end

if updated < replicas then
  hs.status = "Progressing"
  hs.message = "Rolling update: " .. tostring(updated) .. "/" .. tostring(replicas) .. " pods updated, " .. counts
  return hs
end

if ready < replicas then
  hs.status = "Progressing"
  hs.message = "Waiting for pods: " .. counts
  return hs
end

local hasPrimaryRole = false
if spec.roles ~= nil then
  for _, r in ipairs(spec.roles) do
    if r.name == "primary" then
      hasPrimaryRole = true
    end
  end
end
-- A shard spread over member clusters may keep its primary in another cluster.
local annotations = obj.metadata.annotations or {}
local spans = annotations["dbtopo.dev/spans-member-clusters"] == "true"

if hasPrimaryRole and replicas > 0 and obj.status.primary == nil and not spans then
  if probed == 0 then
    hs.status = "Progressing"
    hs.message = counts .. ", waiting for the role probe to find the primary"
  else
    hs.status = "Degraded"
    hs.message = counts .. ", but no pod reports the primary role"
  end
  return hs
end

hs.status = "Healthy"
if obj.status.primary ~= nil then
  hs.message = counts .. ", primary " .. obj.status.primary
else
  hs.message = counts
end
return hs
