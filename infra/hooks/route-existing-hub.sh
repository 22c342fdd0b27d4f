#!/bin/sh
# azd postprovision hook (azure.yaml): with IOTHUB_MODE=existing, wires an IoT hub the template
# did not create to certfleet's Event Hub. The template does not redeclare such a hub, since a
# deployment would replace its whole routing; this adds to it instead, and only what is missing:
#   1. the routing identity, as a user-assigned identity of the hub;
#   2. an Event Hubs custom endpoint that authenticates as that identity (no connection string);
#   3. routes of TwinChangeEvents, DeviceLifecycleEvents and DeviceConnectionStateEvents to it.
# Existing endpoints, routes and the fallback route are left as they are. Safe to run again:
# `azd hooks run postprovision`.
#
# Uses the Azure CLI signed in as someone who may change the hub (`az login`; azd's own sign-in
# is separate) and the azure-iot extension's message-endpoint and message-route commands: the core
# CLI's `az iot hub routing-endpoint` and `az iot hub route` groups are deprecated in their favour
# (Microsoft Learn, "az iot hub routing-endpoint"). They update the hub with its ETag, so a
# concurrent change to the hub is not overwritten.
set -eu

mode="${IOTHUB_MODE:-${AZURE_IOTHUB_MODE:-create}}"
if [ "$mode" != "existing" ]; then
  echo "certfleet: IOTHUB_MODE is $mode; the template configured the hub's routing itself."
  exit 0
fi

hub="${AZURE_IOTHUB_NAME:?AZURE_IOTHUB_NAME is not set: run azd provision first}"
hub_group="${AZURE_IOTHUB_RESOURCE_GROUP:?AZURE_IOTHUB_RESOURCE_GROUP is not set}"
identity="${AZURE_ROUTING_IDENTITY_ID:?AZURE_ROUTING_IDENTITY_ID is not set}"
endpoint="${AZURE_ROUTING_ENDPOINT_NAME:-certfleet-events}"
namespace_host="${AZURE_EVENTHUB_NAMESPACE_HOST:?AZURE_EVENTHUB_NAMESPACE_HOST is not set}"
event_hub="${CERTFLEET_EVENTHUB_NAME:?CERTFLEET_EVENTHUB_NAME is not set}"
event_hub_group="${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set}"

if ! command -v az >/dev/null 2>&1; then
  echo "certfleet: the Azure CLI (az) is needed to route an existing IoT hub; install it, sign in with az login, then run: azd hooks run postprovision" >&2
  exit 1
fi
if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
  az account set --subscription "$AZURE_SUBSCRIPTION_ID"
fi
az extension add --name azure-iot --upgrade --only-show-errors

lower() { printf '%s' "$1" | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz'; }

# 1. The routing identity on the hub (resource ids compared without regard to case).
if az iot hub identity show --name "$hub" --resource-group "$hub_group" \
  --query 'keys(userAssignedIdentities || `{}`)' --output tsv |
  tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz' |
  grep -qxF "$(lower "$identity")"; then
  echo "certfleet: $hub already has the routing identity."
else
  echo "certfleet: adding the routing identity to $hub."
  az iot hub identity assign --name "$hub" --resource-group "$hub_group" \
    --user-assigned "$identity" --only-show-errors --output none
fi

# 2. The identity-based Event Hubs endpoint. The hub checks that the identity may send when the
# endpoint is added; a role assigned minutes ago may not have propagated yet, so retry a while.
found=$(az iot hub message-endpoint list --hub-name "$hub" --resource-group "$hub_group" \
  --endpoint-type eventhub --query "[?name=='$endpoint'].name" --output tsv)
if [ -n "$found" ]; then
  echo "certfleet: $hub already has the endpoint $endpoint."
else
  attempt=1
  until az iot hub message-endpoint create eventhub --hub-name "$hub" \
    --resource-group "$hub_group" --endpoint-name "$endpoint" \
    --endpoint-resource-group "$event_hub_group" \
    --endpoint-uri "sb://$namespace_host" --entity-path "$event_hub" \
    --identity "$identity" --only-show-errors --output none; do
    if [ "$attempt" -ge 6 ]; then
      echo "certfleet: could not add the endpoint $endpoint to $hub; run azd hooks run postprovision again later." >&2
      exit 1
    fi
    echo "certfleet: the endpoint was refused (attempt $attempt); waiting 60 s for the role to propagate."
    attempt=$((attempt + 1))
    sleep 60
  done
  echo "certfleet: added the endpoint $endpoint to $hub."
fi

# 3. The routes, one per source certfleet reads, every event of each.
for route in \
  "certfleet-twin-changes twinchangeevents" \
  "certfleet-device-lifecycle devicelifecycleevents" \
  "certfleet-connection-state deviceconnectionstateevents"; do
  name=${route%% *}
  source=${route#* }
  found=$(az iot hub message-route list --hub-name "$hub" --resource-group "$hub_group" \
    --query "[?name=='$name'].name" --output tsv)
  if [ -n "$found" ]; then
    echo "certfleet: $hub already has the route $name."
  else
    az iot hub message-route create --hub-name "$hub" --resource-group "$hub_group" \
      --route-name "$name" --source-type "$source" --endpoint-name "$endpoint" \
      --condition true --enabled true --only-show-errors --output none
    echo "certfleet: added the route $name ($source) to $hub."
  fi
done
