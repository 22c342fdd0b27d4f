// Azure Monitor alerts on the log lines certfleet writes (docs/alerts.md "Azure Monitor",
// docs/operations.md "What to watch", docs/auditing.md), queried in the Log Analytics workspace
// that workspace-based Application Insights writes to: `traces` there is the AppTraces table,
// `message` its Message column, `severityLevel` SeverityLevel and `timestamp` TimeGenerated.
// Each line's prefix is the constant the code logs with (functions/iotHubEvents.ts
// INGEST_STUCK_PREFIX, shared/app/alerts/AlertRelay.ts ALERT_LOG_PREFIX,
// shared/app/alerts/DeliverAlerts.ts ALERT_DELIVERY_FAILED_PREFIX, functions/auditChecks.ts
// AUDIT_FINDINGS_PREFIX, shared/app/audit/TakeCheckpoint.ts TAMPERED_LOG_PREFIX and
// CHECKPOINT_LOG_PREFIX). Every rule notifies one action group by email.
//
// Events (an alert raised, tampering found) fire each evaluation that finds one (autoMitigate
// off, so a second event soon after the first is still sent); conditions (ingest stuck, a sink
// down, checkpoints stale, a checkpoint number seen twice in the last two days) fire once and
// resolve by themselves when the condition ends. Query validation is skipped: a new workspace has
// no AppTraces rows until the app first logs.
param location string
param tags object
param actionGroupName string
@minLength(3)
param alertEmail string
param workspaceId string

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'certfleet'
    enabled: true
    emailReceivers: [
      {
        name: 'certfleet-ops'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// docs/operations.md: a partition whose batch has failed 6 retries and more (about 5 minutes);
// every 5 minutes over the last 15.
resource ingestStuck 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-ingest-stuck'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: event ingestion stuck (CERTFLEET_INGEST_STUCK)'
    description: 'A partition of the IoT Hub events has been failing for minutes and waits. The message names the call and the answer (a missing role, an endpoint, storage down). docs/operations.md, What to watch.'
    severity: 1
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where SeverityLevel >= 3 and Message startswith "CERTFLEET_INGEST_STUCK"
| summarize failures = count(), last = max(TimeGenerated) by partition = extract(@"partition (\S+):", 1, Message)
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'partition'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// docs/alerts.md, Azure Monitor: a critical certfleet alert raised or escalated (device or
// fleet: issuer outage, service errors, expired certificates, a CA near its end...). The sinks
// deliver it too; this is the channel that needs no sink. Every 5 minutes.
resource criticalAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-critical-alert'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: critical alert raised or escalated (CERTFLEET_ALERT)'
    description: 'certfleet raised or escalated a critical alert. `certfleet alerts` or GET /api/alerts lists the open ones. docs/alerts.md.'
    severity: 1
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "CERTFLEET_ALERT {"
| extend a = parse_json(substring(Message, strlen("CERTFLEET_ALERT ")))
| where a.severity == "critical" and a.transition in ("raised", "escalated")
| project TimeGenerated, rule = tostring(a.rule), scope = tostring(a.scope), hub = tostring(a.hub), deviceId = tostring(a.deviceId), devices = toint(a["count"]), summary = tostring(a.summary)
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// docs/alerts.md, Azure Monitor: a sink failing 3 times or more in 30 minutes, so no alert
// reaches that channel. Every 5 minutes over the last 30.
resource sinkFailing 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-alert-sink-failing'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: an alert sink keeps failing (CERTFLEET_ALERT_DELIVERY_FAILED)'
    description: 'Notifications to one sink have failed for 30 minutes (a wrong URL or key, the receiver down, a missing role). They are retried until it answers. docs/alerts.md, Delivery guarantees.'
    severity: 2
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT30M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "CERTFLEET_ALERT_DELIVERY_FAILED {"
| extend f = parse_json(substring(Message, strlen("CERTFLEET_ALERT_DELIVERY_FAILED ")))
| summarize failures = count(), last = max(TimeGenerated) by sink = tostring(f.sink)
| where failures >= 3
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'sink'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// docs/auditing.md, Fleet audit checks: the daily run (06:00 UTC) found something. Hourly, so
// the day's one line is seen once.
resource auditFindings 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-audit-findings'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: fleet audit checks found problems (CERTFLEET_AUDIT_FINDINGS)'
    description: 'The daily fleet audit found shared certificates or keys, weak keys, long validity, distrusted issuers or expiring certificates. `certfleet audit checks` prints them. docs/auditing.md.'
    severity: 2
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "CERTFLEET_AUDIT_FINDINGS {"
| extend r = parse_json(substring(Message, strlen("CERTFLEET_AUDIT_FINDINGS ")))
| project TimeGenerated, findings = toint(r.findings), counts = r.counts
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// docs/auditing.md, Proving the trail complete and unaltered: the checkpointer found a sealed
// blob shrunk, gone or rewritten. Every 15 minutes (checkpoints are hourly, at :05).
resource auditTampered 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-audit-tampered'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: audit trail altered (CERTFLEET_AUDIT_TAMPERED)'
    description: 'A blob the audit checkpoints sealed shrank, vanished or was rewritten. Run `certfleet audit verify` for the dates concerned. docs/auditing.md.'
    severity: 0
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "CERTFLEET_AUDIT_TAMPERED {"
| extend t = parse_json(substring(Message, strlen("CERTFLEET_AUDIT_TAMPERED ")))
| project TimeGenerated, checkpoint = toint(t.checkpoint), problem = tostring(t.problem)
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// docs/auditing.md, Verifying (`checkpoints-stale`): no checkpoint logged for 2 h 15 min, so the
// checkpointer stopped (or its newest checkpoints are being deleted). Every 15 minutes.
resource checkpointsStale 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-audit-checkpoints-stale'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: no audit checkpoint for 2 h 15 min (CERTFLEET_AUDIT_CHECKPOINT)'
    description: 'The hourly audit checkpoint has not been taken: the auditCheckpoint timer is not running or cannot sign (Key Vault role, key disabled). docs/auditing.md.'
    severity: 1
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT3H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where TimeGenerated > ago(135m)
| where Message startswith "CERTFLEET_AUDIT_CHECKPOINT {"
| summarize checkpoints = count()
| where checkpoints == 0
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// docs/auditing.md, What checkpoints cannot do: one checkpoint number logged with two hashes, so
// a newest checkpoint was deleted and its number taken again, or every checkpoint was deleted.
// Hourly over the longest window a log alert allows (2 days); run the docs' query over all of
// the workspace's retention for older history.
resource checkpointRewritten 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'certfleet-audit-checkpoint-rewritten'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'certfleet: an audit checkpoint number was written twice (CERTFLEET_AUDIT_CHECKPOINT)'
    description: 'Application Insights holds two different hashes for one checkpoint number: checkpoints were deleted from storage and taken again. docs/auditing.md.'
    severity: 0
    enabled: true
    skipQueryValidation: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
AppTraces
| where Message startswith "CERTFLEET_AUDIT_CHECKPOINT {"
| extend c = parse_json(substring(Message, strlen("CERTFLEET_AUDIT_CHECKPOINT ")))
| summarize hashes = make_set(tostring(c.hash)) by seq = toint(c.seq)
| where array_length(hashes) > 1
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
