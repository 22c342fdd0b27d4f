import { app } from '@azure/functions';
import { SettingsError, loadSettings } from '../shared/config/settings';
import { services } from '../shared/services';

/** Settings only the Functions host needs: the trigger's %…% binding expressions. */
const TRIGGER_SETTINGS = ['CERTFLEET_EVENTHUB_NAME', 'CERTFLEET_EVENTHUB_CONSUMER_GROUP'];

/**
 * Settings are validated once when the app starts: a missing or invalid setting stops start-up
 * with a message that names it, instead of failing every invocation later.
 */
app.hook.appStart(() => {
  const missing = TRIGGER_SETTINGS.filter((name) => !process.env[name]?.trim());
  if (missing.length > 0)
    throw new SettingsError(missing.map((name) => `${name}: required by the Event Hub trigger`));
  loadSettings(process.env);
  services(); // builds every client now: a trust bundle or connection string that does not work stops start-up
});
