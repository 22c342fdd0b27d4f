import { azureCredential } from './adapters/azureCredential';
import { SlackSink } from './adapters/alerts/SlackSink';
import { TeamsSink } from './adapters/alerts/TeamsSink';
import { WebhookSink } from './adapters/alerts/WebhookSink';
import { AlertSink } from './app/ports';
import { AlertConfig } from './config/alertSettings';
import { SettingsError } from './config/SettingsError';

type EventGridModule = typeof import('./adapters/alerts/EventGridSink');

/**
 * The alert sinks the settings configure, in a fixed order. Event Grid by identity uses a managed
 * identity (the Function app's) or DefaultAzureCredential; with a key, the key.
 */
export function alertSinks(config: AlertConfig): AlertSink[] {
  const sinks: AlertSink[] = [];
  try {
    if (config.webhook) sinks.push(new WebhookSink(config.webhook));
    if (config.teams) sinks.push(new TeamsSink(config.teams));
    if (config.slack) sinks.push(new SlackSink(config.slack));
    const eventGrid = config.eventGrid;
    if (eventGrid) {
      const { auth } = eventGrid;
      // The Event Grid SDK loads only for a deployment that alerts through it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
      const { EventGridSink }: EventGridModule = require('./adapters/alerts/EventGridSink');
      sinks.push(
        auth.kind === 'key'
          ? new EventGridSink({ endpoint: eventGrid.endpoint, key: auth.key })
          : new EventGridSink({
              endpoint: eventGrid.endpoint,
              credential: azureCredential({
                kind: auth.credential === 'managedidentity' ? 'managedidentity' : 'default',
                ...(auth.clientId ? { clientId: auth.clientId } : {}),
              }),
            }),
      );
    }
  } catch (error) {
    // The sinks' own messages name the setting's site, never its URL or key.
    throw new SettingsError([`alert sinks: ${(error as Error).message}`]);
  }
  return sinks;
}
