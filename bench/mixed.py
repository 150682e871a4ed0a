"""The mixed workload of bench.py: each virtual user creates, reads, patches, lists and deletes.

A CI suite's cycle on one consent, over and over: POST (the new id from `Location`), GET (its
`ETag`), PATCH with `If-Match: <that ETag>`, the filtered list, DELETE. Each wrk thread drives
one connection and keeps its own Lua state, so the cycle is a real sequence: a PATCH carries
the ETag of the GET before it, a DELETE removes what the POST created, and the store stays the
size it was. wrk's `response()` callback has no connection of its own, which is why the load
is `-t16 -c16` here rather than the `-t1 -c16` of the single operations.

A peer without state (Prism, WireMock's static stubs) answers the POST with a fixed
`Location` (Prism's is the spec's example, `http://example.com`): a user that finds no uuid at
the end of it goes on with the consent every GET reads.
"""

from __future__ import annotations

MIXED = "mixed cycle"
CYCLE = 5  # requests per cycle: POST, GET, PATCH, list, DELETE

_LUA = """
-- One virtual user per wrk thread: POST, GET, PATCH If-Match, list, DELETE, again.
local base = "{base}"
local headers = {{{headers}}}
-- The step advances when its answer arrives, not when its request is built: wrk builds one
-- request ahead (at start-up) that may never be sent.
local step = 1
local id = "{fallback}"
local etag = "*"

local function with(extra)
  local h = {{}}
  for k, v in pairs(headers) do h[k] = v end
  for k, v in pairs(extra) do h[k] = v end
  return h
end

request = function()
  if step == 1 then
    return wrk.format("POST", base, with({{["Content-Type"] = "application/json"}}),
                      '{{"name":"Acme AB"}}')
  elseif step == 2 then
    return wrk.format("GET", base .. "/" .. id, headers)
  elseif step == 3 then
    return wrk.format("PATCH", base .. "/" .. id,
                      with({{["Content-Type"] = "application/json", ["If-Match"] = etag}}),
                      '{{"name":"Acme AB 2"}}')
  elseif step == 4 then
    return wrk.format("GET", base .. "{list}", headers)
  end
  return wrk.format("DELETE", base .. "/" .. id, headers)
end

local function header(all, name)
  for k, v in pairs(all) do
    if string.lower(k) == name then return v end
  end
  return nil
end

response = function(status, all, body)
  if step == 1 then
    local location = header(all, "location")
    -- a uuid at the end of the path, or (a static peer's example URL) the fallback
    local found = location and string.match(location, "/([0-9a-fA-F-]+)$")
    id = (found and #found == 36) and found or "{fallback}"
  elseif step == 2 then
    etag = header(all, "etag") or "*"
  end
  step = step % {cycle} + 1
end
"""


def mixed_script(prefix: str, headers: dict[str, str], fallback_id: str, list_query: str) -> str:
    """The Lua of one virtual user, for a target whose consents live under `prefix`."""
    pairs = ", ".join(f'["{name}"] = "{value}"' for name, value in headers.items())
    return _LUA.format(
        base=f"{prefix}/api/v1/consents",
        headers=pairs,
        fallback=fallback_id,
        cycle=CYCLE,
        list=list_query,
    )
