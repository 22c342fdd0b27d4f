#!/bin/sh
# azd postprovision hook (azure.yaml): with IOTHUB_MODE=existing, routes an IoT hub the template
# did not create to this environment's Event Hub. The template does not redeclare such a hub,
# since a deployment would replace its whole routing; this adds to it instead:
#   1. the routing identity, as a user-assigned identity of the hub;
#   2. an Event Hubs custom endpoint that authenticates as that identity (no connection string);
#   3. routes of TwinChangeEvents, DeviceLifecycleEvents and DeviceConnectionStateEvents to it.
# The endpoint and routes carry this environment's names (existing-hub.sh). One that exists is
# compared with what this environment needs (endpoint URI, entity path, authentication type and
# identity; each route's source, endpoint, condition and whether it is enabled) and updated when it
# differs, saying what differed. Endpoints and routes an earlier release named without the
# environment are removed once they send to this environment's Event Hub. Nothing else on the hub
# is changed. Safe to run again: `azd hooks run postprovision`.
#
# Uses the Azure CLI signed in as someone who may change the hub (`az login`; azd's own sign-in
# is separate). unroute-existing-hub.sh (predown) takes all of this away before `azd down`.
set -eu

. "$(dirname "$0")/existing-hub.sh"

if [ "$certfleet_mode" != "existing" ]; then
  certfleet_say "IOTHUB_MODE is $certfleet_mode; the template configured the hub's routing itself."
  exit 0
fi

read_settings
require_az "route" postprovision

# 1. The routing identity on the hub.
if hub_has_identity; then
  certfleet_say "$hub already has the routing identity."
else
  run "adding the routing identity to $hub" iot hub identity assign --name "$hub" \
    --resource-group "$hub_group" --user-assigned "$identity" --only-show-errors --output none || exit 1
  certfleet_say "added the routing identity to $hub."
fi

# 2. The identity-based Event Hubs endpoint. The hub checks that the identity may send when the
# endpoint is added or changed; a role assigned minutes ago may not have propagated yet.
endpoint_uri="sb://$namespace_host"
fields=$(endpoint_fields "$endpoint") || exit 1
if [ -z "$fields" ]; then
  retry_propagation "adding the endpoint $endpoint to $hub" iot hub message-endpoint create eventhub \
    --hub-name "$hub" --resource-group "$hub_group" --endpoint-name "$endpoint" \
    --endpoint-resource-group "$event_hub_group" --endpoint-uri "$endpoint_uri" \
    --entity-path "$event_hub" --identity "$identity"
  certfleet_say "added the endpoint $endpoint to $hub."
else
  differences=""
  if [ "$(normal_uri "$(field "$fields" 1)")" != "$(normal_uri "$endpoint_uri")" ]; then
    differences="$differences endpointUri is $(field "$fields" 1), not $endpoint_uri;"
  fi
  if [ "$(lower "$(field "$fields" 2)")" != "$(lower "$event_hub")" ]; then
    differences="$differences entityPath is $(field "$fields" 2), not $event_hub;"
  fi
  if [ "$(lower "$(field "$fields" 3)")" != "identitybased" ]; then
    differences="$differences authenticationType is $(field "$fields" 3), not identityBased;"
  fi
  used_identity=$(field "$fields" 4)
  if [ "$(lower "$used_identity")" != "$(lower "$identity")" ]; then
    differences="$differences identity is ${used_identity:-none}, not the routing identity $identity;"
  fi
  if [ -z "$differences" ]; then
    certfleet_say "$hub already has the endpoint $endpoint as this environment needs it."
  else
    certfleet_say "the endpoint $endpoint on $hub differs from what this environment needs:$differences updating it."
    retry_propagation "updating the endpoint $endpoint on $hub" iot hub message-endpoint update eventhub \
      --hub-name "$hub" --resource-group "$hub_group" --endpoint-name "$endpoint" \
      --endpoint-resource-group "$event_hub_group" --endpoint-uri "$endpoint_uri" \
      --entity-path "$event_hub" --identity "$identity"
    certfleet_say "updated the endpoint $endpoint on $hub."
  fi
fi

# 3. The routes, one per source certfleet reads, every event of each.
for route in \
  "$twin_route twinchangeevents" \
  "$lifecycle_route devicelifecycleevents" \
  "$connection_route deviceconnectionstateevents"; do
  name=${route%% *}
  source=${route#* }
  fields=$(route_fields "$name") || exit 1
  if [ -z "$fields" ]; then
    retry_propagation "adding the route $name to $hub" iot hub message-route create --hub-name "$hub" \
      --resource-group "$hub_group" --route-name "$name" --source-type "$source" \
      --endpoint-name "$endpoint" --condition true --enabled true
    certfleet_say "added the route $name ($source) to $hub."
    continue
  fi
  differences=""
  if [ "$(lower "$(field "$fields" 1)")" != "$source" ]; then
    differences="$differences source is $(field "$fields" 1), not $source;"
  fi
  if [ "$(lower "$(field "$fields" 2)")" != "$(lower "$endpoint")" ]; then
    differences="$differences endpoints are $(field "$fields" 2), not $endpoint;"
  fi
  if [ "$(lower "$(field "$fields" 3)")" != "true" ]; then
    differences="$differences condition is $(field "$fields" 3), not true;"
  fi
  if [ "$(lower "$(field "$fields" 4)")" != "true" ]; then
    differences="$differences it is disabled;"
  fi
  if [ -z "$differences" ]; then
    certfleet_say "$hub already has the route $name as this environment needs it."
  else
    certfleet_say "the route $name on $hub differs from what this environment needs:$differences updating it."
    retry_propagation "updating the route $name on $hub" iot hub message-route update --hub-name "$hub" \
      --resource-group "$hub_group" --route-name "$name" --source-type "$source" \
      --endpoint-name "$endpoint" --condition true --enabled true
    certfleet_say "updated the route $name on $hub."
  fi
done

# 4. What an earlier release added under names shared by every environment, once it sends to this
# environment's Event Hub: its events now arrive through the routes above.
if [ "$(lower "$endpoint")" != "$legacy_endpoint" ]; then
  legacy=$(endpoint_fields "$legacy_endpoint") || exit 1
  if [ -n "$legacy" ]; then
    # shellcheck disable=SC2086 # the route names are single words, split on purpose
    remove_routing "$legacy_endpoint" $legacy_routes
  fi
fi
