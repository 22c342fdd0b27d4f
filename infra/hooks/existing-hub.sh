# Shared by route-existing-hub.sh (postprovision) and unroute-existing-hub.sh (predown): sourced,
# not run. With IOTHUB_MODE=existing the template never declares the IoT hub (a deployment would
# replace its whole routing); these hooks add this environment's routing to the hub, and take it
# away again, with the Azure CLI and its azure-iot extension.
#
# Names: the endpoint and routes carry the environment's resource token (main.bicep outputs
# AZURE_ROUTING_ENDPOINT_NAME and AZURE_ROUTE_*_NAME), so environments sharing one hub never touch
# each other's. Nothing else on the hub (other endpoints and routes, the fallback route, shared
# access policies) is read or changed.
#
# Every az call names the environment's subscription (--subscription): `az account set` would
# change the default subscription of whoever runs azd, for every later az command.

certfleet_say() { printf 'certfleet: %s\n' "$*"; }
certfleet_fail() {
  printf 'certfleet: %s\n' "$*" >&2
  exit 1
}

lower() { printf '%s' "$1" | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz'; }

# An Event Hubs namespace URI as the hub may report it (any case, a trailing slash or not).
normal_uri() { lower "$1" | sed 's:/*$::'; }

az_sub() {
  if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    az "$@" --subscription "$AZURE_SUBSCRIPTION_ID"
  else
    az "$@"
  fi
}

certfleet_err=$(mktemp "${TMPDIR:-/tmp}/certfleet-az.XXXXXX")
trap 'rm -f "$certfleet_err"' EXIT

# run "<what it does>" <az arguments>: prints az's output; on failure stops, naming what failed
# and what az said. Use as: value=$(run "..." ...) || exit 1
run() {
  run_what=$1
  shift
  if ! az_sub "$@" 2>"$certfleet_err"; then
    certfleet_fail "$run_what failed: $(cat "$certfleet_err")"
  fi
}

# Whether a refused change is the hub failing to reach the Event Hub as the routing identity
# because its Azure Event Hubs Data Sender role has not propagated yet (Microsoft asks to wait a
# few minutes after assigning it: Microsoft Learn, "IoT Hub support for managed identities"). Event
# Hubs refuses such a sender with "Unauthorized access. 'Send' claim(s) are required to perform
# this operation." (the text the Azure SDKs' own tests wait out as role propagation). Refusals of
# the caller (ARM's AuthorizationFailed, LinkedAuthorizationFailed, an expired sign-in), a hub not
# found and bad arguments are permanent: retrying them would only delay the error.
is_propagation_error() {
  if grep -qiE 'AuthorizationFailed|does not have authorization|AuthenticationToken|AADSTS|az login|not found|unrecognized arguments' "$1"; then
    return 1
  fi
  grep -qiE "claim\(s\) are required|unauthori[sz]ed" "$1"
}

certfleet_attempts=6

# retry_propagation "<what it does>" <az arguments>: runs a change to the hub, retrying every
# 60 s (6 attempts) only while the hub cannot yet send to the Event Hub as the routing identity.
retry_propagation() {
  retry_what=$1
  shift
  retry_attempt=1
  while ! az_sub "$@" --only-show-errors --output none 2>"$certfleet_err"; do
    if ! is_propagation_error "$certfleet_err"; then
      certfleet_fail "$retry_what failed: $(cat "$certfleet_err")"
    fi
    if [ "$retry_attempt" -ge "$certfleet_attempts" ]; then
      certfleet_fail "$retry_what failed $retry_attempt times: $hub could not send to the Event Hub $event_hub as the routing identity, whose Azure Event Hubs Data Sender role may still be propagating. Run 'azd hooks run postprovision' again in a few minutes. Last error: $(cat "$certfleet_err")"
    fi
    certfleet_say "$retry_what was refused: $hub cannot send to $event_hub as the routing identity yet (attempt $retry_attempt of $certfleet_attempts); waiting 60 s for its role to propagate."
    retry_attempt=$((retry_attempt + 1))
    sleep 60
  done
}

require_az() {
  if ! command -v az >/dev/null 2>&1; then
    certfleet_fail "the Azure CLI (az) is needed to $1 an existing IoT hub; install it, sign in with az login, then run: azd hooks run $2"
  fi
  # The message-endpoint and message-route commands: the core CLI's routing-endpoint and route
  # groups are deprecated in their favour (Microsoft Learn, "az iot hub routing-endpoint"). They
  # update the hub with its ETag, so a concurrent change to the hub is not overwritten.
  run "installing the azure-iot extension of the Azure CLI" extension add --name azure-iot --upgrade --only-show-errors >/dev/null || exit 1
}

# Fields of the Event Hubs endpoint named $1, tab-separated: endpointUri, entityPath,
# authenticationType, identity.userAssignedIdentity. Empty when the hub has none by that name.
endpoint_fields() {
  run "reading the endpoints of $hub" iot hub message-endpoint list --hub-name "$hub" \
    --resource-group "$hub_group" --endpoint-type eventhub \
    --query "[?name=='$1'].[endpointUri, entityPath, authenticationType, identity.userAssignedIdentity]" \
    --output tsv
}

# Fields of the route named $1, tab-separated: source, endpoint names (comma-separated),
# condition, isEnabled. Empty when the hub has no route by that name.
route_fields() {
  run "reading the routes of $hub" iot hub message-route list --hub-name "$hub" \
    --resource-group "$hub_group" \
    --query "[?name=='$1'].[source, join(',', endpointNames), condition, to_string(isEnabled)]" \
    --output tsv
}

field() { printf '%s\n' "$1" | cut -f "$2"; }

# Whether endpoint fields ($1) send to this environment's Event Hub.
sends_to_our_event_hub() {
  [ "$(normal_uri "$(field "$1" 1)")" = "$(normal_uri "sb://$namespace_host")" ] &&
    [ "$(lower "$(field "$1" 2)")" = "$(lower "$event_hub")" ]
}

# remove_routing <endpoint> <route>...: removes the routes, then the endpoint, but only when the
# endpoint sends to this environment's Event Hub and each route sends to that endpoint alone:
# anything else by those names is someone else's and is left as it is.
remove_routing() {
  removed_endpoint=$1
  shift
  [ -n "$removed_endpoint" ] || certfleet_fail "no endpoint name to remove"
  fields=$(endpoint_fields "$removed_endpoint") || exit 1
  if [ -z "$fields" ]; then
    certfleet_say "$hub has no endpoint $removed_endpoint."
    return 0
  fi
  if ! sends_to_our_event_hub "$fields"; then
    certfleet_say "the endpoint $removed_endpoint on $hub sends to $(field "$fields" 1) $(field "$fields" 2), not to this environment's Event Hub: left as it is."
    return 0
  fi
  for removed_route in "$@"; do
    # An empty name would make `message-route delete` remove every route of the hub.
    [ -n "$removed_route" ] || certfleet_fail "no route name to remove"
    route=$(route_fields "$removed_route") || exit 1
    if [ -z "$route" ]; then
      continue
    fi
    if [ "$(lower "$(field "$route" 2)")" != "$(lower "$removed_endpoint")" ]; then
      certfleet_say "the route $removed_route on $hub sends to $(field "$route" 2), not to $removed_endpoint: left as it is."
      continue
    fi
    run "removing the route $removed_route from $hub" iot hub message-route delete --hub-name "$hub" \
      --resource-group "$hub_group" --route-name "$removed_route" --yes --only-show-errors \
      --output none || exit 1
    certfleet_say "removed the route $removed_route from $hub."
  done
  run "removing the endpoint $removed_endpoint from $hub" iot hub message-endpoint delete \
    --hub-name "$hub" --resource-group "$hub_group" --endpoint-name "$removed_endpoint" \
    --endpoint-type eventhub --yes --only-show-errors --output none || exit 1
  certfleet_say "removed the endpoint $removed_endpoint from $hub."
}

# Whether the hub holds the routing identity (resource ids compared without regard to case).
hub_has_identity() {
  assigned=$(run "reading the identities of $hub" iot hub identity show --name "$hub" \
    --resource-group "$hub_group" --query 'keys(userAssignedIdentities || `{}`)' --output tsv) || exit 1
  printf '%s\n' "$assigned" | tr 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' 'abcdefghijklmnopqrstuvwxyz' |
    grep -qxF "$(lower "$identity")"
}

# The names an earlier release gave its endpoint and routes on an existing hub, the same in every
# environment; removed when they send to this environment's Event Hub.
legacy_endpoint=certfleet-events
legacy_routes="certfleet-twin-changes certfleet-device-lifecycle certfleet-connection-state"

read_settings() {
  hub="${AZURE_IOTHUB_NAME:?AZURE_IOTHUB_NAME is not set: run azd provision first}"
  hub_group="${AZURE_IOTHUB_RESOURCE_GROUP:?AZURE_IOTHUB_RESOURCE_GROUP is not set: run azd provision first}"
  identity="${AZURE_ROUTING_IDENTITY_ID:?AZURE_ROUTING_IDENTITY_ID is not set: run azd provision first}"
  namespace_host="${AZURE_EVENTHUB_NAMESPACE_HOST:?AZURE_EVENTHUB_NAMESPACE_HOST is not set: run azd provision first}"
  event_hub="${CERTFLEET_EVENTHUB_NAME:?CERTFLEET_EVENTHUB_NAME is not set: run azd provision first}"
  event_hub_group="${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set: run azd provision first}"
  endpoint="${AZURE_ROUTING_ENDPOINT_NAME:?AZURE_ROUTING_ENDPOINT_NAME is not set: run azd provision first}"
  twin_route="${AZURE_ROUTE_TWIN_CHANGES_NAME:?AZURE_ROUTE_TWIN_CHANGES_NAME is not set: run azd provision first}"
  lifecycle_route="${AZURE_ROUTE_DEVICE_LIFECYCLE_NAME:?AZURE_ROUTE_DEVICE_LIFECYCLE_NAME is not set: run azd provision first}"
  connection_route="${AZURE_ROUTE_CONNECTION_STATE_NAME:?AZURE_ROUTE_CONNECTION_STATE_NAME is not set: run azd provision first}"
}

certfleet_mode="${IOTHUB_MODE:-${AZURE_IOTHUB_MODE:-create}}"
