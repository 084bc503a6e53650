-- Argo CD health of a dbtopo Cluster (dbtopo.dev/v1alpha1). The controller aggregates the
-- Cluster's InstanceSets into status.phase and status.message; this maps them onto Argo CD's
-- statuses. Written for gopher-lua (Lua 5.1) without the string library.
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

local phase = obj.status.phase
local message = obj.status.message

-- Without a phase, fall back on the Ready condition.
if phase == nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      if c.status == "True" then
        phase = "Running"
      else
        phase = c.reason
      end
      if message == nil then
        message = c.message
      end
    end
  end
end

if phase == "Running" then
  hs.status = "Healthy"
elseif phase == "Creating" or phase == "Updating" then
  hs.status = "Progressing"
elseif phase == "Degraded" or phase == "Failed" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
  if phase == nil then
    phase = "unknown"
  end
  if message == nil then
    message = "Waiting for a known phase (got " .. tostring(phase) .. ")"
  end
end

if message == nil then
  message = phase
end
hs.message = message
return hs
