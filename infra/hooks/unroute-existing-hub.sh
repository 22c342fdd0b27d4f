#!/bin/sh
# azd predown hook (azure.yaml): with IOTHUB_MODE=existing, takes this environment's routing off
# the IoT hub before `azd down` deletes the Event Hub and the routing identity it points to. Left
# behind, a route would send to an Event Hub that no longer exists, and the hub would hold a
# user-assigned identity that no longer exists. Removes, in this order:
#   1. this environment's routes (AZURE_ROUTE_*_NAME), when they send to its endpoint;
#   2. its endpoint (AZURE_ROUTING_ENDPOINT_NAME), when it sends to this environment's Event Hub;
#   3. the same under the names an earlier release used, when they send to this Event Hub;
#   4. the routing identity from the hub's user-assigned identities.
# Nothing else on the hub is changed. Safe to run again (`azd hooks run predown`); with
# IOTHUB_MODE=create, or a hub that is already gone, it does nothing.
set -eu

. "$(dirname "$0")/existing-hub.sh"

if [ "$certfleet_mode" != "existing" ]; then
  certfleet_say "IOTHUB_MODE is $certfleet_mode; the hub goes with the resource group, nothing to take off it."
  exit 0
fi
if [ -z "${AZURE_IOTHUB_NAME:-}" ]; then
  certfleet_say "this environment was never provisioned; nothing to take off an IoT hub."
  exit 0
fi

read_settings
require_az "unroute" predown

if ! az_sub iot hub show --name "$hub" --resource-group "$hub_group" --query id --output tsv \
  >/dev/null 2>"$certfleet_err"; then
  if grep -qiE 'not ?found' "$certfleet_err"; then
    certfleet_say "the IoT hub $hub is not in $hub_group any more; nothing to take off it."
    exit 0
  fi
  certfleet_fail "reading the IoT hub $hub failed: $(cat "$certfleet_err")"
fi

# 1-2. This environment's routes and endpoint.
remove_routing "$endpoint" "$twin_route" "$lifecycle_route" "$connection_route"

# 3. An earlier release's, when they send to this environment's Event Hub.
if [ "$(lower "$endpoint")" != "$legacy_endpoint" ]; then
  legacy=$(endpoint_fields "$legacy_endpoint") || exit 1
  if [ -n "$legacy" ]; then
    # shellcheck disable=SC2086 # the route names are single words, split on purpose
    remove_routing "$legacy_endpoint" $legacy_routes
  fi
fi

# 4. The routing identity. The hub refuses to let go of an identity an endpoint still uses, so
# this comes last; an endpoint of someone else's using it makes this fail, naming the error.
if hub_has_identity; then
  run "removing the routing identity from $hub" iot hub identity remove --name "$hub" \
    --resource-group "$hub_group" --user-assigned "$identity" --only-show-errors --output none || exit 1
  certfleet_say "removed the routing identity from $hub."
else
  certfleet_say "$hub does not hold the routing identity."
fi
